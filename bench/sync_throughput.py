"""End-to-end sync throughput against the sandbox over HTTP, its rate limits off.

Starts the sandbox (gunicorn subprocess, free port) on a throw-away database, seeds one location
with ``--contacts`` contacts, then measures in this process:
  fetch_only_per_s  contacts per second paging Search Contacts through the door (no mapping, no writes)
  contacts_per_s    contacts per second of a backfill run: fetch, map, fingerprint, upsert, checkpoint
Run: .venv/bin/python bench/sync_throughput.py [--contacts 20000] [--postgres URL]
"""

import argparse
import time

from sync_world import BenchEnvironment, Sandbox, run_inline, world_make


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument(
        "--postgres", help="A PostgreSQL server URL; a scratch database is made on it."
    )
    args = parser.parse_args()
    env = BenchEnvironment(limits_off=True, postgres=args.postgres)
    sandbox = Sandbox(port=env.port)
    try:
        [subscription] = world_make(locations=1, contacts=args.contacts)
        from integrations.catalog.services import operation_pages

        started = time.monotonic()
        fetched = 0
        for response in operation_pages(
            connection_id=subscription.connection_id,
            operation_id="POST /contacts/search",
            body={"locationId": subscription.location.location_id},
        ):
            fetched += len(response.data["contacts"])
        fetch_s = time.monotonic() - started

        started = time.monotonic()
        run_inline(subscription)
        run_s = time.monotonic() - started
        from rankr.models import Contact

        stored = Contact.objects.filter(location_id=subscription.location_id).count()
        if stored != args.contacts or fetched != args.contacts:
            raise SystemExit(f"expected {args.contacts}, fetched {fetched}, stored {stored}")
    finally:
        sandbox.stop()
        env.close()
    print(f"contacts: {args.contacts}")
    print(f"pages: {subscription.backfill_pages}")
    print(f"fetch_only_s: {fetch_s:.1f}")
    print(f"backfill_s: {run_s:.1f}")
    print(f"fetch_only_per_s: {fetched / fetch_s:.0f}")
    print(f"contacts_per_s: {stored / run_s:.0f}")


if __name__ == "__main__":
    main()
