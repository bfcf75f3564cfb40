"""Peak memory of a 100,000-contact backfill (target < 200 MB).

Seeds the sandbox (gunicorn subprocess, limits off) with one location of ``--contacts`` contacts,
then runs the backfill in a child process of this script and reports that child's peak resident
set size (``ru_maxrss`` of the finished child), so seeding's memory does not count.
Run: .venv/bin/python bench/backfill_memory.py [--contacts 100000] [--postgres URL]
"""

import argparse
import resource
import subprocess
import sys
import time

from sync_world import PYTHON, ROOT, BenchEnvironment, Sandbox, world_make


def child(subscription_id):
    import django

    django.setup()
    from sync_world import run_inline

    from integrations.models import Subscription

    subscription = Subscription.objects.get(pk=subscription_id)
    run_inline(subscription)
    print(f"records: {subscription.backfill_records}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--postgres")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    env = BenchEnvironment(limits_off=True, postgres=args.postgres)
    sandbox = Sandbox(port=env.port)
    try:
        [subscription] = world_make(locations=1, contacts=args.contacts)
        started = time.monotonic()
        done = subprocess.run(
            [PYTHON, str(ROOT / "bench" / "backfill_memory.py"), "--child", str(subscription.pk)],
            capture_output=True,
            text=True,
        )
        elapsed = time.monotonic() - started
        if done.returncode:
            raise SystemExit(f"the backfill failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        from rankr.models import Contact

        stored = Contact.objects.filter(location_id=subscription.location_id).count()
    finally:
        sandbox.stop()
        env.close()
    if stored != args.contacts:
        raise SystemExit(f"expected {args.contacts} contacts in Rankr, found {stored}")
    print(f"contacts: {stored}")
    print(f"backfill_s: {elapsed:.1f}")
    print(f"peak_rss_mb: {peak_kb / 1024:.0f}")


if __name__ == "__main__":
    sys.exit(main())
