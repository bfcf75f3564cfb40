"""Requests made by a poll run over an unchanged location (target 1).

Seeds one sandbox location (gunicorn subprocess, limits on as HighLevel's), backfills it, then runs
the subscription again with nothing changed and counts the requests the run sent (sync log rows of
its job, retries included). For contrast, a run of "List Contacts (Deprecated)", which has no
"changed since" filter and lists every page (skipping unchanged records by fingerprint).
Run: .venv/bin/python bench/incremental.py [--contacts 2000] [--postgres URL]
"""

import argparse

from sync_world import BenchEnvironment, Sandbox, run_inline, world_make


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=2_000)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    env = BenchEnvironment(limits_off=False, postgres=args.postgres)
    sandbox = Sandbox(port=env.port)
    try:
        search, listing = world_make(
            locations=1,
            contacts=args.contacts,
            triggers=("Search Contacts", "List Contacts (Deprecated)"),
        )
        from integrations.models import SyncLog

        counts = {}
        for subscription in (search, listing):
            run_inline(subscription)  # the backfill
            job = run_inline(subscription)  # nothing changed since
            assert job.kind == "poll", job.kind
            counts[subscription.trigger] = (
                SyncLog.objects.filter(job_id=job.pk).count(),
                subscription.last_run_changed,
            )
    finally:
        sandbox.stop()
        env.close()
    requests, written = counts["Search Contacts"]
    list_requests, list_written = counts["List Contacts (Deprecated)"]
    print(f"contacts: {args.contacts}")
    print(f"records_written: {written + list_written}")
    print(f"requests_list_contacts_trigger: {list_requests}")
    print(f"requests: {requests}")


if __name__ == "__main__":
    main()
