"""CPU and queries per polled run over an unchanged location (the dispatcher_lag bench's job).

``--locations`` sandbox locations × ``--per-location`` "Search Contacts" subscriptions, set up as
``bench/dispatcher_lag.py`` does them (backfilled, watermark in the past, 2 contacts each); a first
round of polls brings each location's contacts in, then ``--rounds`` rounds of polls over the
unchanged locations are measured. Each round: the dispatcher claims every subscription (one call)
and each job is run in this process as a worker runs it (``job_run_task``). The sandbox is its own
gunicorn process and is not counted; CPU is this process's ``time.process_time()`` plus, on
PostgreSQL, its database backend's CPU (as ``bench/sync_cost.py`` counts it).
  cpu_ms_per_poll, db_cpu_ms_per_poll, queries_per_poll, dispatch_cpu_ms_per_poll
(with ``--profile`` the CPU figures include the profiler's own overhead: measure without it.)
Run: .venv/bin/python bench/poll_cost.py [--locations 20] [--per-location 5] [--rounds 2]
     [--postgres URL] [--profile FILE]
"""

import argparse
import cProfile
import io
import pstats
import time
from datetime import timedelta

from sync_cost import BackendCpu
from sync_world import BenchEnvironment, Sandbox, world_make


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--locations", type=int, default=20)
    parser.add_argument("--per-location", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--postgres")
    parser.add_argument("--profile", help="write cProfile stats of the measured polls here")
    parser.add_argument("--show-queries", action="store_true", help="print one poll's queries")
    args = parser.parse_args()
    env = BenchEnvironment(limits_off=False, postgres=args.postgres, extra={"DB_CONN_MAX_AGE": 60})
    sandbox = None
    try:
        subscriptions = world_make(
            locations=args.locations,
            contacts=2,
            triggers=("Search Contacts",) * args.per_location,
        )
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from integrations.interfaces.tasks import job_run_task
        from integrations.models import Job, Subscription
        from integrations.sync.subscriptions.dispatch import subscriptions_dispatch

        for subscription in subscriptions:
            subscription.backfill_finished_at = timezone.now()
            subscription.watermark = "2000-01-01T00:00:00.000Z"
            subscription.interval_minutes = 5
            subscription.next_run_at = timezone.now()
        Subscription.objects.bulk_update(
            subscriptions,
            ["next_run_at", "backfill_finished_at", "watermark", "interval_minutes"],
            batch_size=500,
        )
        sandbox = Sandbox(port=env.port, workers=2, threads=8)
        backends = BackendCpu()
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        total = dict(cpu=0.0, db=0.0, dispatch=0.0, queries=0, polls=0)
        for round_ in range(args.rounds + 1):
            measured = round_ > 0
            now = timezone.now() + timedelta(minutes=10 * (round_ + 1))
            cpu0, db0 = time.process_time(), backends.seconds()
            dispatched = subscriptions_dispatch(now=now)
            dispatch_cpu = time.process_time() - cpu0 + backends.seconds() - db0
            ids = list(
                Job.objects.filter(status=Job.Status.QUEUED)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            assert dispatched == len(ids) == len(subscriptions), (dispatched, len(ids))
            queries = 0
            cpu0, db0 = time.process_time(), backends.seconds()
            if measured and profiler:
                profiler.enable()
            for job_id in ids:
                connection.queries_log.clear()  # a bounded log: its length is what is counted
                with CaptureQueriesContext(connection) as captured:
                    job_run_task(job_id)
                queries += len(captured)
                if measured and args.show_queries and job_id == ids[-1]:
                    for query in captured:
                        print("   ", query["sql"][:300])
            if measured and profiler:
                profiler.disable()
            cpu, db = time.process_time() - cpu0, backends.seconds() - db0
            bad = Job.objects.filter(pk__in=ids).exclude(status=Job.Status.SUCCEEDED).count()
            if bad:
                job = Job.objects.filter(pk__in=ids).exclude(status=Job.Status.SUCCEEDED).first()
                raise SystemExit(
                    f"{bad} polls did not succeed: {job.error_class} {job.error_message}"
                )
            print(
                f"round {round_}: {len(ids)} polls, {1000 * (cpu + db) / len(ids):.1f} CPU ms "
                f"per poll (db {1000 * db / len(ids):.1f}), {queries / len(ids):.1f} queries, "
                f"dispatch {1000 * dispatch_cpu / len(ids):.2f} ms per poll"
                + ("" if measured else " (first round: brings the contacts in; not counted)")
            )
            if measured:
                total["cpu"] += cpu + db
                total["db"] += db
                total["dispatch"] += dispatch_cpu
                total["queries"] += queries
                total["polls"] += len(ids)
        polls = total["polls"]
        print(f"polls: {polls}")
        print(f"cpu_ms_per_poll: {1000 * total['cpu'] / polls:.1f}")
        print(f"db_cpu_ms_per_poll: {1000 * total['db'] / polls:.1f}")
        print(f"queries_per_poll: {total['queries'] / polls:.1f}")
        print(f"dispatch_cpu_ms_per_poll: {1000 * total['dispatch'] / polls:.2f}")
        if profiler:
            profiler.dump_stats(args.profile)
            text = io.StringIO()
            pstats.Stats(args.profile, stream=text).sort_stats("cumulative").print_stats(60)
            pstats.Stats(args.profile, stream=text).sort_stats("tottime").print_stats(40)
            with open(args.profile + ".txt", "w") as out:
                out.write(text.getvalue())
    finally:
        if sandbox:
            sandbox.stop()
        env.close()


if __name__ == "__main__":
    main()
