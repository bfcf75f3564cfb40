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
worst wait) plus the measured time to write it; for one found only by the walk, its entity's
uncompressed window (its worst wait).

Run: .venv/bin/python bench/location_equality.py [--scale 1.0] [--postgres URL]
"""

import argparse
import math
import random
import time
from decimal import Decimal

from location_world import (
    backfill_all,
    changes,
    flows_apply,
    poll_all,
    sandbox_counted,
    walk_all,
    world,
)
from sync_world import BenchEnvironment, Sandbox

LOCATION = "bench-eq-0001"
COMPANY = "bench-eq-company"
INTERVAL_S = 300
OVERLAP_WAIT_S = 61
VOLUMES = {
    "contact": 10_000,
    "task": 20_000,
    "note": 20_000,
    "appointment": 5_000,
    "user": 50,
    "opportunity": 2_000,
}
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
        for res in store.resources_query(kind=kind, location_id=LOCATION):
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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="Volumes times this.")
    parser.add_argument("--change", type=float, default=0.01, help="Share of each kind changed.")
    parser.add_argument("--postgres")
    args = parser.parse_args()
    volumes = {k: max(1, round(v * args.scale)) for k, v in VOLUMES.items()}
    volumes["user"] = max(volumes["user"], 5)
    env = BenchEnvironment(limits_off=True, postgres=args.postgres)
    sandbox = Sandbox(port=env.port)
    try:
        from integrations.models import EntityCoverage, Subscription

        (location,) = world(volumes, location_ids=[LOCATION], company=COMPANY)
        keys, _report = flows_apply([location])
        subscriptions = list(Subscription.objects.filter(location=location).exclude(plan=""))
        started = time.monotonic()
        backfill_all(subscriptions)
        backfill_s = time.monotonic() - started
        changed = changes(random.Random(7), args.change, location_id=LOCATION, company=COMPANY)
        # Marks are inclusive and overlap (a minute): let the changes age past the overlap, so
        # the unchanged poll after the cycle measures an unchanged location.
        time.sleep(OVERLAP_WAIT_S)
        # The cycle: one poll run each, then a complete walk each.
        before = sandbox_counted(location_ids=[LOCATION], company=COMPANY)
        found_at = {}
        poll_start = time.time()
        poll_requests, walk_requests = poll_all(subscriptions)
        poll_end = time.time()
        walk_all(subscriptions, walk_requests)
        counted = sandbox_counted(location_ids=[LOCATION], company=COMPANY) - before
        # A poll of an unchanged location: what every 5-minute run spends without changes.
        base_requests, _ = poll_all(subscriptions)
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
        for (kind, ghl_id), (_at, action) in changed.items():
            found = found_at.get((kind, ghl_id))
            by_poll = found is not None and poll_start <= found <= poll_end
            edit = kind in PARENT_CHANGING and action != "delete"
            cls = "parent_changing" if edit else "other"
            if by_poll:
                freshness[cls].append(INTERVAL_S + max(found - poll_start, 0.0))
            else:
                freshness[cls].append(float(max(coverage[kind].window_s, INTERVAL_S)))
        mismatches, samples = compare(location)
    finally:
        sandbox.stop()
        env.close()
    for key, value in volumes.items():
        print(f"seeded_{key}: {value}")
    print(f"flows_applied: {len(keys)}")
    print(f"plan_subscriptions: {len(subscriptions)}")
    print(f"changes: {len(changed)}")
    print(f"backfill_s: {backfill_s:.1f}")
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


if __name__ == "__main__":
    main()
