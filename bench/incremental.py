"""Requests and CPU of a poll run over an unchanged location (target 1; issue 19's hot path).

Seeds one sandbox location (gunicorn subprocess, limits on as HighLevel's), backfills it, then runs
the subscription again with nothing changed and counts the requests the run sent (sync log rows of
its job, retries included). For contrast, a run of "List Contacts (Deprecated)", which has no
"changed since" filter and lists every page (skipping unchanged records by fingerprint).
Then the CPU such runs cost (this process's ``time.process_time()`` plus, on PostgreSQL, the
database backends' CPU, as bench/sync_cost.py counts it), the sandbox not counted:
  poll_cpu_ms             one unchanged run of the "Search Contacts" subscription (mean of --polls;
                          the job's run, not its enqueueing)
  listing_cpu_ms_per_1k   the listing run over unchanged records, per 1,000 records
  plan_poll_cpu_ms        one run of the location-wide contact plan (its poll and its walk's
                          share of unchanged pages, as every 5 minutes), mean of --polls
  plan_poll_requests      the requests such a run sends (mean)
Run: .venv/bin/python bench/incremental.py [--contacts 2000] [--polls 20] [--postgres URL]
     [--profile FILE]  (cProfile of the polls in CPU time: FILE.poll, FILE.plan, their .txt)
"""

import argparse
import time

from sync_cost import BackendCpu, Meter, profiled
from sync_world import BenchEnvironment, Sandbox, run_inline, world_make


def runs(subscription, n, meter):
    """``n`` runs of ``subscription``, each enqueued as "run now" and then run in this process,
    only the runs' own work metered (``meter``: its CPU is added up; the enqueueing is the
    dispatcher's, priced by bench/dispatcher_lag.py). Returns the requests they sent."""
    from integrations.models import SyncLog
    from integrations.sync.jobs import job_run
    from integrations.sync.subscriptions import subscription_run_now

    jobs = []
    for _ in range(n):
        job = subscription_run_now(subscription_id=subscription.pk, user_id=None)
        with meter:
            job_run(job_id=job.pk)
        job.refresh_from_db()
        assert job.kind == "poll" and job.status == "succeeded", (job.kind, job.status)
        jobs.append(job)
    subscription.refresh_from_db()
    return SyncLog.objects.filter(job_id__in=[job.pk for job in jobs]).count()


class Total:
    """Meters added up: CPU seconds (process and database) of the ``with`` blocks it wraps."""

    def __init__(self, backends):
        self.backends, self.cpu = backends, 0.0

    def __enter__(self):
        self.meter = Meter(self.backends).__enter__()

    def __exit__(self, *exc):
        self.meter.__exit__(*exc)
        self.cpu += self.meter.cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=2_000)
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--postgres")
    parser.add_argument("--profile", help="cProfile the unchanged polls.")
    args = parser.parse_args()
    env = BenchEnvironment(limits_off=False, postgres=args.postgres)
    sandbox = Sandbox(port=env.port)
    try:
        search, listing = world_make(
            locations=1,
            contacts=args.contacts,
            triggers=("Search Contacts", "List Contacts (Deprecated)"),
        )
        from integrations.models import Subscription, SyncLog

        backends = BackendCpu()
        counts = {}
        for subscription in (search, listing):
            run_inline(subscription)  # the backfill
            job = run_inline(subscription)  # nothing changed since
            assert job.kind == "poll", job.kind
            counts[subscription.trigger] = (
                SyncLog.objects.filter(job_id=job.pk).count(),
                subscription.last_run_changed,
            )
        poll = Total(backends)
        profiled(
            args.profile and args.profile + ".poll",
            lambda: runs(search, args.polls, poll),
            timer=time.process_time,
        )
        listed = Total(backends)
        runs(listing, 1, listed)
        # The same subscription as the location-wide contact plan (as applying the flow makes it).
        Subscription.objects.filter(pk=search.pk).update(plan="contact", cursor={})
        search.refresh_from_db()
        runs(search, 1, Total(backends))  # its coverage row and walk estimate
        plan = Total(backends)
        plan_requests = profiled(
            args.profile and args.profile + ".plan",
            lambda: runs(search, args.polls, plan),
            timer=time.process_time,
        )
        written = sum(
            Subscription.objects.filter(pk__in=[search.pk, listing.pk]).values_list(
                "last_run_changed", flat=True
            )
        )
    finally:
        sandbox.stop()
        env.close()
    requests, written_poll = counts["Search Contacts"]
    list_requests, list_written = counts["List Contacts (Deprecated)"]
    print(f"database: {'postgresql' if args.postgres else 'sqlite'}")
    print(f"contacts: {args.contacts}")
    print(f"records_written: {written_poll + list_written + written}")
    print(f"requests_list_contacts_trigger: {list_requests}")
    print(f"requests: {requests}")
    print(f"poll_cpu_ms: {poll.cpu * 1000 / args.polls:.1f}")
    print(f"listing_cpu_ms_per_1k: {listed.cpu * 1000 / (args.contacts / 1000):.0f}")
    print(f"plan_poll_cpu_ms: {plan.cpu * 1000 / args.polls:.1f}")
    print(f"plan_poll_requests: {plan_requests / args.polls:.1f}")


if __name__ == "__main__":
    main()
