"""Lag between a subscription's due time and the start of its run, at scale (target < 60 s).

1,000 sandbox locations × 5 subscriptions on a 5-minute interval (options change the numbers),
already backfilled, their due times spread over one interval. The sandbox (gunicorn), a django-q2
cluster (``manage.py qcluster``) and the dispatcher loop (``manage.py dispatch --loop``) run as
subprocesses for one interval plus a margin; every run of the window is then measured:
lag = the job's start − the subscription's due time (a run that never started counts until the end).
Also prints the CPU seconds each process group spent (``cpu_s_<name>``: utime + stime of its
live processes, from /proc) and how many runs started per second of the window.
Run: .venv/bin/python bench/dispatcher_lag.py [--locations 1000] [--per-location 5] [--interval 5]
     [--workers 4] [--postgres URL] [--redis URL]
"""

import argparse
import os
import statistics
import time
from datetime import timedelta

from sync_world import (
    PYTHON,
    BenchEnvironment,
    Process,
    Sandbox,
    process_group_stats,
    qcluster,
    world_make,
)


def group_cpu_s(pgid):
    """CPU seconds (user + system) of the live processes in process group ``pgid``, with what
    they collected from their waited-for children."""
    ticks = sum(
        sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        for _pid, fields in process_group_stats(pgid)
    )
    return ticks / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--locations", type=int, default=1000)
    parser.add_argument("--per-location", type=int, default=5)
    parser.add_argument("--interval", type=int, default=5, help="minutes")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--every", type=float, default=5.0, help="dispatcher loop, seconds")
    parser.add_argument("--postgres")
    parser.add_argument(
        "--redis",
        help="Redis mode: the broker on a redis-server of our own on a free port (the URL's "
        "server is never touched; its data is not ours).",
    )
    args = parser.parse_args()
    env = BenchEnvironment(limits_off=False, postgres=args.postgres, redis=bool(args.redis))
    processes = []
    try:
        subscriptions = world_make(
            locations=args.locations, contacts=2, triggers=("Search Contacts",) * args.per_location
        )
        from django.db.models import F
        from django.utils import timezone

        from integrations.models import Job, Subscription

        warmup = timedelta(seconds=30)
        interval = timedelta(minutes=args.interval)
        # Spread over one interval from a provisional start a day ahead (nothing due while the
        # processes start), then shifted in one update to start ``warmup`` after they are up:
        # the set-up's own time (long on a busy machine) is no run's lag.
        provisional = timezone.now() + timedelta(days=1)
        total = len(subscriptions)
        for i, subscription in enumerate(subscriptions):
            subscription.next_run_at = provisional + interval * i / total
            subscription.backfill_finished_at = timezone.now()
            subscription.watermark = "2000-01-01T00:00:00.000Z"
            subscription.interval_minutes = args.interval
        Subscription.objects.bulk_update(
            subscriptions,
            ["next_run_at", "backfill_finished_at", "watermark", "interval_minutes"],
            batch_size=500,
        )
        processes.append(Sandbox(port=env.port, workers=2, threads=8))
        # As the Procfile's worker line: its database connection kept between jobs.
        processes.append(qcluster(workers=args.workers, env={"DB_CONN_MAX_AGE": "60"}))
        window_start = timezone.now() + warmup
        Subscription.objects.update(next_run_at=F("next_run_at") + (window_start - provisional))
        first_due = dict(Subscription.objects.values_list("pk", "next_run_at"))
        processes.append(
            Process(
                [PYTHON, "manage.py", "dispatch", "--loop", "--every", str(args.every)],
                name="dispatcher",
            )
        )
        window_end = window_start + interval
        deadline = window_end + timedelta(seconds=90)
        while timezone.now() < deadline:
            for process in processes:
                if process.proc.poll() is not None:
                    raise SystemExit(f"{process.name} stopped:\n{process.tail()}")
            time.sleep(5)
        end = timezone.now()
        cpu = {process.name: group_cpu_s(process.proc.pid) for process in processes}
        for process in reversed(processes):
            process.stop()
        processes = []
        # Each subscription's first due time in the window is the one set above; a subscription
        # never dispatched in the window counts with its lag up to the end.
        begun = {}
        failed = 0
        for job in Job.objects.filter(kind=Job.Kind.POLL).only("params", "started_at", "status"):
            sub_id = job.params["subscription_id"]
            due = timezone.datetime.fromisoformat(job.params["due"])
            if due != first_due[sub_id]:
                continue
            failed += job.status in (Job.Status.FAILED, Job.Status.DEAD)
            if job.started_at:
                begun[sub_id] = job.started_at
        lags = [((begun.get(pk) or end) - due).total_seconds() for pk, due in first_due.items()]
        started = len(begun)
    finally:
        for process in reversed(processes):
            process.stop()
        env.close()
    lags.sort()
    print(f"subscriptions: {total}")
    print(f"runs_started: {started}")
    print(f"runs_failed: {failed}")
    print(f"lag_p50_s: {statistics.median(lags):.1f}")
    print(f"lag_p95_s: {lags[int(len(lags) * 0.95) - 1]:.1f}")
    for name, seconds in cpu.items():
        print(f"cpu_s_{name}: {seconds:.1f}")
    print(f"runs_per_s: {started / (end - window_start).total_seconds():.1f}")
    print(f"lag_s: {lags[-1]:.1f}")


if __name__ == "__main__":
    main()
