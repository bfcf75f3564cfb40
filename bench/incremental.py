"""Requests and CPU of a poll run over an unchanged location (target 1; issue 19's hot path).

Seeds one sandbox location (gunicorn subprocess, limits on as HighLevel's), backfills it, then runs
the subscription again with nothing changed and counts the requests the run sent (sync log rows of
its job, retries included). For contrast, a run of "List Contacts (Deprecated)", which has no
"changed since" filter and lists every page (skipping unchanged records by fingerprint).
Then the CPU such runs cost (this process's ``time.process_time()`` plus, on PostgreSQL, the
database backends' CPU, as bench/sync_cost.py counts it), the sandbox not counted:
  poll_cpu_ms             one unchanged run of the "Search Contacts" subscription (mean of --polls)
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


def runs(subscription, n):
    """``n`` runs of ``subscription``; the requests they sent."""
    from integrations.models import SyncLog

    jobs = [run_inline(subscription) for _ in range(n)]
    assert all(job.kind == "poll" for job in jobs), [job.kind for job in jobs]
    return SyncLog.objects.filter(job_id__in=[job.pk for job in jobs]).count()


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
        with Meter(backends) as poll:
            profiled(
                args.profile and args.profile + ".poll",
                lambda: runs(search, args.polls),
                timer=time.process_time,
            )
        with Meter(backends) as listed:
            runs(listing, 1)
        # The same subscription as the location-wide contact plan (as applying the flow makes it).
        Subscription.objects.filter(pk=search.pk).update(plan="contact", cursor={})
        search.refresh_from_db()
        runs(search, 1)  # its coverage row and walk estimate
        with Meter(backends) as plan:
            plan_requests = profiled(
                args.profile and args.profile + ".plan",
                lambda: runs(search, args.polls),
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
