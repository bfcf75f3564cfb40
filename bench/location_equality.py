"""One location kept equal to HighLevel by polling alone: field-by-field mismatches after a cycle.

Seeds one sandbox location (10,000 contacts, 20,000 tasks, 20,000 notes, 5,000 appointments over
3 calendars, 50 users, 2,000 opportunities at ``--scale 1``), applies every HighLevel → Rankr flow
with the sandbox's webhooks off (the changes below are written into the sandbox's store, which
emits none), backfills, then changes 1 % of every kind: creates, updates and deletes of contacts,
tasks (edits and completions), notes (added to unchanged contacts), appointments (moved into the
future), users and opportunities. Then one cycle:

1. a poll run of every subscription, as the 5-minute schedule would (the walk advances by its
   share of the window);
2. a complete reconciliation walk of every subscription in one run.

Time is compressed: a 5-minute interval takes one run, a reconciliation window (24 h for up to
20,000 contacts, shorter for cheap listings, as each plan computes it) takes one run. The figures
printed are scaled back: ``daily_budget_pct`` = (a poll of the unchanged location × 288 runs a
day + the change-driven requests of the cycle's poll once, the day's 1 % + each entity's complete
walk × walks per day in its uncompressed window) / 200,000; ``daily_budget_pct_if_every_poll_
met_these_changes`` counts the cycle's whole poll 288 times instead (a pessimistic bound). ``freshness_p95_s`` per
class (``parent_changing``: creates and edits of contacts, opportunities, users and appointments
moved; ``other``: deletions, tasks, notes): for a change found by the poll, one interval (its
worst wait) plus the measured time to write it; for one found only by the walk, the share of its
entity's uncompressed window the walk had covered when it wrote the change (the walk runs right
after the changes, so that share is the change's wait; a change the walk wrote no row for counts
the whole window, its worst wait).

With ``--webhooks`` the sandbox's webhooks are on: a sandbox app with the portal's webhook URL is
installed on the location after the backfill, every change above that HighLevel announces is
emitted as the sandbox's own handler emits it (``location_world.WEBHOOK_EVENTS``: task edits, a
task marked not done, user edits and deletions, and the children a contact deletion takes with it
have none), signed and POSTed to the portal's endpoint (the same gunicorn), and a worker (``manage.py
qcluster``) processes them. Changes are paced (``--pace`` seconds apart, far faster than a
location's 1 % a day) so the figure is the latency of one change, not a backlog's.
``webhook_freshness_p95_s`` = from the change in the sandbox to the Rankr row reflecting it
(its ``updated_at``, or ``deleted_at`` for a deletion); ``webhook_unreflected`` counts announced
changes the row did not reflect when the deliveries and their jobs were done. Then the same poll
and walk cycle as without webhooks, and the same comparison.

Run: .venv/bin/python bench/location_equality.py [--scale 1.0] [--webhooks] [--postgres URL]
Profile: BENCH_PROFILE=DIR (cProfile of this process and of the sandbox's worker, CPU time).
"""

import argparse
import math
import os
import random
import time
from decimal import Decimal

from location_world import (
    VOLUMES,
    backfill_all,
    changes,
    flows_apply,
    poll_all,
    sandbox_counted,
    walk_all,
    world,
)
from sync_world import BenchEnvironment, Sandbox, qcluster

LOCATION = "bench-eq-0001"
COMPANY = "bench-eq-company"
INTERVAL_S = 300
OVERLAP_WAIT_S = 61
# Edits that move a record's own modification mark or its listing window (found by the poll);
# the rest (deletions, tasks, notes) is found by the reconciliation walk.
PARENT_CHANGING = {"contact", "opportunity", "user", "appointment"}


def p95(values):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def compare(location):
    """Every sandbox record through the current mapping against Rankr's row, field by field."""
    from integrations.models import Subscription
    from mappings.entities import ENTITIES
    from mappings.services import mapping_apply, mapping_version_latest
    from sandbox.api.handlers.users import user_public
    from sandbox.state import store

    mismatches, samples = {}, {}
    for subscription in Subscription.objects.filter(location=location).exclude(plan=""):
        kind = subscription.plan
        entity = ENTITIES[kind]
        version = mapping_version_latest(mapping_id=subscription.mapping_id)
        model = entity.rankr_model
        rankr = {
            r.ghl_id: r for r in model.objects.filter(location=location, deleted_at__isnull=True)
        }
        expected = {}
        for res in store.resources_query(kind=kind, location_id=location.location_id):
            data = user_public(res.data) if kind == "user" else res.data
            expected[res.resource_id] = mapping_apply(mapping_version=version, record=data)
        bad = 0
        for ghl_id, values in expected.items():
            row = rankr.get(ghl_id)
            if row is None:
                bad += 1
                samples.setdefault(kind, f"missing {ghl_id}")
                continue
            for name, wanted in values.items():
                have = getattr(row, name)
                value = wanted
                if isinstance(have, Decimal) and wanted not in (None, ""):
                    value = Decimal(str(wanted))
                if (have or None) != (value or None) and str(have) != str(value):
                    bad += 1
                    samples.setdefault(kind, f"{ghl_id}.{name}: {have!r} != {value!r}")
                    break
        extra = set(rankr) - set(expected)
        bad += len(extra)
        if extra:
            samples.setdefault(kind, f"extra {sorted(extra)[0]}")
        mismatches[kind] = bad
    return mismatches, samples


def webhooks_on(port):
    """Install a sandbox app whose webhook URL is the portal's endpoint on the bench location."""
    from sandbox.access.models import Installation, SandboxLocation
    from sandbox.access.services.registry import sandbox_app_register, spec_scopes_all

    registered = sandbox_app_register(
        name="Bench portal",
        redirect_uris=["http://127.0.0.1/callback/"],
        scopes=sorted(spec_scopes_all()),
        webhook_url=f"http://127.0.0.1:{port}/integrations/webhooks/highlevel/",
        client_id="bench-client",
    )
    location = SandboxLocation.objects.get(location_id=LOCATION)
    Installation.objects.create(app=registered.app, company=location.company, location=location)


def webhooks_settle(announced, *, timeout):
    """Wait until every announced change was delivered and its job (if any) finished. Returns
    (deliveries not delivered, events the portal did not process)."""
    from integrations.models import WebhookEvent as PortalEvent
    from sandbox.access.models import WebhookDelivery
    from sandbox.access.services.webhooks import webhook_deliveries_wait

    deadline = time.monotonic() + timeout
    webhook_deliveries_wait(timeout=timeout)
    open_statuses = [PortalEvent.Status.RECEIVED]
    while time.monotonic() < deadline:
        if not PortalEvent.objects.filter(status__in=open_statuses).exists():
            break
        time.sleep(0.5)
    undelivered = WebhookDelivery.objects.exclude(status=WebhookDelivery.DELIVERED).count()
    unprocessed = PortalEvent.objects.filter(status__in=open_statuses).count()
    return undelivered, unprocessed


def webhook_freshness(location, changed, announced):
    """Seconds from each announced change to the Rankr row reflecting it (None: not reflected)."""
    from rankr.models import RECORD_MODELS

    seconds = []
    for (kind, ghl_id), _event_type in announced.items():
        at, action = changed[(kind, ghl_id)]
        row = (
            RECORD_MODELS[kind]
            .objects.filter(location=location, ghl_id=ghl_id)
            .values("updated_at", "deleted_at")
            .first()
        )
        mark = None
        if row is not None:
            mark = row["deleted_at"] if action == "delete" else row["updated_at"]
            if action != "delete" and row["deleted_at"] is not None:
                mark = None
        reflected = mark is not None and mark.timestamp() >= at - 1  # DB clock, same machine
        seconds.append(max(mark.timestamp() - at, 0.0) if reflected else None)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="Volumes times this.")
    parser.add_argument("--change", type=float, default=0.01, help="Share of each kind changed.")
    parser.add_argument("--postgres")
    parser.add_argument(
        "--webhooks", action="store_true", help="Sandbox webhooks on (a worker processes them)."
    )
    parser.add_argument(
        "--pace", type=float, default=0.2, help="Seconds between changes with --webhooks."
    )
    args = parser.parse_args()
    wall_started = time.monotonic()
    volumes = {k: max(1, round(v * args.scale)) for k, v in VOLUMES.items()}
    volumes["user"] = max(volumes["user"], 5)
    env = BenchEnvironment(limits_off=True, postgres=args.postgres)
    sandbox = Sandbox(port=env.port)
    worker = None
    webhook_s, undelivered, unprocessed = [], 0, 0
    try:
        from integrations.models import EntityCoverage, Subscription

        [location] = world(volumes, location_ids=[LOCATION], company=COMPANY)
        keys, _report = flows_apply([location])
        subscriptions = list(Subscription.objects.filter(location=location).exclude(plan=""))
        started = time.monotonic()
        backfill_all(subscriptions)
        backfill_s = time.monotonic() - started
        if args.webhooks:
            webhooks_on(env.port)
            worker = qcluster(workers=2)
        changes_started = time.monotonic()
        changed, announced = changes(
            random.Random(7),
            args.change,
            location_id=LOCATION,
            company=COMPANY,
            emit=args.webhooks,
            pace=args.pace,
        )
        changes_s = time.monotonic() - changes_started
        if args.webhooks:
            undelivered, unprocessed = webhooks_settle(announced, timeout=600)
            webhook_s = webhook_freshness(location, changed, announced)
        # Marks are inclusive and overlap (a minute): let the changes age past the overlap, so
        # the unchanged poll after the cycle measures an unchanged location.
        time.sleep(OVERLAP_WAIT_S)
        # The cycle: one poll run each, then a complete walk each.
        before = sandbox_counted(location_ids=[LOCATION], company=COMPANY)
        found_at = {}
        poll_start = time.time()
        poll_requests, walk_requests = poll_all(subscriptions)
        poll_end = time.time()
        walk_spans = {}
        walk_all(subscriptions, walk_requests, walk_spans)
        counted = sandbox_counted(location_ids=[LOCATION], company=COMPANY) - before
        # A poll of an unchanged location: what every 5-minute run spends without changes.
        base_requests, _walks = poll_all(subscriptions)
        # When each change reached Rankr.
        from rankr.models import RECORD_MODELS

        for (kind, ghl_id), _ in changed.items():
            row = (
                RECORD_MODELS[kind]
                .objects.filter(location=location, ghl_id=ghl_id)
                .values_list("updated_at", flat=True)
                .first()
            )
            found_at[(kind, ghl_id)] = row.timestamp() if row else None
        coverage = {c.entity: c for c in EntityCoverage.objects.filter(location=location)}
        # A day: every run's unchanged poll, the change-driven requests once (the day's 1 %),
        # each entity's complete walk as often as its window; and, for contrast, as if every
        # 5-minute poll met that many changes.
        runs = 86400 / INTERVAL_S
        driven = sum(max(poll_requests[k] - base_requests.get(k, 0), 0) for k in poll_requests)
        daily = sum(base_requests.values()) * runs + driven
        daily_every_poll = sum(poll_requests.values()) * runs
        for c in coverage.values():
            window = max(c.window_s, INTERVAL_S)
            daily += c.last_full_pass_requests * 86400 / window
            daily_every_poll += c.last_full_pass_requests * 86400 / window
        freshness = {"parent_changing": [], "other": []}
        for (kind, ghl_id), (at, action) in changed.items():
            found = found_at.get((kind, ghl_id))
            by_poll = found is not None and poll_start <= found <= poll_end
            by_webhook = (kind, ghl_id) in announced and found is not None and found < poll_start
            edit = kind in PARENT_CHANGING and action != "delete"
            cls = "parent_changing" if edit else "other"
            if by_webhook:
                freshness[cls].append(max(found - at, 0.0))
            elif by_poll:
                freshness[cls].append(INTERVAL_S + max(found - poll_start, 0.0))
            else:
                # Found by the walk: it reaches a record's parent after that share of its window
                # (the walk is compressed into one run); not seen written: the whole window.
                window = float(max(coverage[kind].window_s, INTERVAL_S))
                start, end = walk_spans.get(kind, (0.0, 0.0))
                if found is not None and start <= found <= end and end > start:
                    freshness[cls].append(window * (found - start) / (end - start))
                else:
                    freshness[cls].append(window)
        mismatches, samples = compare(location)
    finally:
        if worker is not None:
            worker.stop()
        sandbox.stop()
        env.close()
    for key, value in volumes.items():
        print(f"seeded_{key}: {value}")
    print(f"flows_applied: {len(keys)}")
    print(f"plan_subscriptions: {len(subscriptions)}")
    print(f"changes: {len(changed)}")
    print(f"backfill_s: {backfill_s:.1f}")
    print(f"changes_s: {changes_s:.1f}")
    print(f"wall_s: {time.monotonic() - wall_started:.0f}")
    print(f"time_compression: interval {INTERVAL_S}s -> one run; each walk window -> one run")
    for kind, c in sorted(coverage.items()):
        print(f"window_s_{kind}: {c.window_s}")
        print(f"walk_requests_{kind}: {c.last_full_pass_requests}")
        print(f"poll_requests_{kind}: {poll_requests.get(kind, 0)}")
        print(f"unchanged_poll_requests_{kind}: {base_requests.get(kind, 0)}")
    for kind, sample in sorted(samples.items()):
        print(f"mismatch_sample_{kind}: {sample}")
    for kind, n in sorted(mismatches.items()):
        print(f"mismatches_{kind}: {n}")
    print(f"mismatches: {sum(mismatches.values())}")
    print(f"requests_counted: {counted}")
    print(
        f"daily_budget_pct_if_every_poll_met_these_changes: {100 * daily_every_poll / 200_000:.1f}"
    )
    print(f"daily_budget_pct: {100 * daily / 200_000:.1f}")
    for cls, values in freshness.items():
        print(f"freshness_p95_s_{cls}: {p95(values):.0f}")
    if args.webhooks:
        reflected = [v for v in webhook_s if v is not None]
        print(f"webhook_changes_announced: {len(webhook_s)}")
        print(f"webhook_changes_s: {changes_s:.1f}")
        print(f"webhook_undelivered: {undelivered}")
        print(f"webhook_unprocessed: {unprocessed}")
        print(f"webhook_unreflected: {len(webhook_s) - len(reflected)}")
        median = sorted(reflected)[len(reflected) // 2] if reflected else 0.0
        print(f"webhook_freshness_p50_s: {median:.2f}")
        unreflected = [math.inf] * (len(webhook_s) - len(reflected))
        print(f"webhook_freshness_p95_s: {p95(reflected + unreflected):.2f}")


if __name__ == "__main__":
    if os.environ.get("BENCH_PROFILE"):  # the portal's side too (the sandbox's: sync_world)
        import cProfile

        profile = cProfile.Profile(time.process_time)  # CPU, not a shared machine's wall
        profile.runcall(main)
        profile.dump_stats(os.path.join(os.environ["BENCH_PROFILE"], "bench.prof"))
    else:
        main()
