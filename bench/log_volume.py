"""What one location's day writes to the operational tables, before retention.

Seeds 10 sandbox locations with every synced kind (``--scale`` of a full location: 10,000
contacts, 20,000 tasks, 20,000 notes, 5,000 appointments, 50 users, 2,000 opportunities; 0.005 by
default, to keep the run to a few minutes), applies every HighLevel → Rankr flow, backfills, then
measures one whole-location cycle, phase by phase, as rows added to the sync log, jobs, job
attempts and webhook events, and raw payloads written; bytes are those rows at each table's bytes
per row on disk at the end (what the rows added to the empty tables' fixed size, which is their
first pages and, on PostgreSQL, each day partition's index metapages), indexes included (SQLite: ``dbstat`` pages; PostgreSQL, ``--postgres
URL``: ``pg_total_relation_size``, TOAST too, after ``VACUUM FULL``: the dead versions of rows the
cycle updated are space autovacuum reuses in production; the size before is printed too), since
one small cycle's growth in pages is mostly allocation steps:

1. ``unchanged_poll``: one poll run of every subscription of the unchanged locations;
2. ``webhooks``: 1 % of every kind changed in each location, each change delivered as the signed
   webhook HighLevel sends for it (through the portal's intake, its job run as the worker does);
3. ``poll``: one poll run of every subscription (it meets those changes too);
4. ``walk``: a complete reconciliation walk of every subscription, entity by entity.

Scaled to a day per location at 5-minute intervals: the unchanged poll × 288 runs; the
change-driven part (webhooks + the poll's excess over an unchanged one) once, the day's 1 %, ÷
scale; each entity's walk's HighLevel calls ÷ scale × the walks a day its full-size window allows
(the project's own ``reconcile_window_s`` at full size; a walk's jobs are not counted: in
production it advances inside the poll runs). A poll run's own walk share (the requests its job
reports as walking) is taken out of its sync-log rows: the complete walks count it, at their
full-size pace. The raw payload store is bounded (one row per live record): a day counts the
payloads it wrote (records created or changed) ÷ scale; its whole size is printed
apart. ``--body-sample`` sets ``SYNC_LOG_BODY_SAMPLE`` (1 keeps every body).

Run: .venv/bin/python bench/log_volume.py [--locations 10] [--scale 0.005] [--postgres URL]
"""

import argparse
import base64
import json
import os
import random
import time
import uuid

from location_world import (
    VOLUMES,
    WEBHOOK_EVENTS,
    backfill_all,
    changes,
    flows_apply,
    poll_all,
    sandbox_counted,
    walk_all,
    world,
)
from sync_world import BenchEnvironment, Sandbox

COMPANY = "bench-logs-company"
PREFIX = "bench-logs-"
INTERVAL_S = 300
DAY_S = 86_400
TABLES = {  # label: (app label, model name)
    "sync_log": ("integrations", "SyncLog"),
    "jobs": ("integrations", "Job"),
    "job_attempts": ("integrations", "JobAttempt"),
    "webhook_events": ("integrations", "WebhookEvent"),
    "raw_payloads": ("mappings", "SourcePayload"),
}


def signing_key():
    """A webhook signing key whose public half the portal trusts (set before Django starts)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    os.environ["GHL_WEBHOOK_ED25519_PUBLIC_KEY"] = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return key


def measure():
    """{label: (bytes, rows)} of each table on disk, its indexes included (PostgreSQL:
    ``pg_total_relation_size``, TOAST too; SQLite: its pages and its indexes' in ``dbstat``)."""
    from django.apps import apps
    from django.db import connection

    found = {}
    with connection.cursor() as cursor:
        for label, (app, name) in TABLES.items():
            table = apps.get_model(app, name)._meta.db_table
            if connection.vendor == "postgresql":
                # A table partitioned by day holds nothing itself: sum its partitions too.
                cursor.execute(
                    "SELECT COALESCE((SELECT SUM(pg_total_relation_size(relid)) "
                    "FROM pg_partition_tree(%s)), pg_total_relation_size(%s))",
                    [table, table],
                )
            else:
                cursor.execute(
                    "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN "
                    "(SELECT name FROM sqlite_master WHERE tbl_name = %s)",
                    [table],
                )
            size = cursor.fetchone()[0]
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            found[label] = (int(size), cursor.fetchone()[0])
    return found


def compact(tables):
    """VACUUM FULL each table (PostgreSQL): its size without dead row versions."""
    from django.apps import apps
    from django.db import connection

    with connection.cursor() as cursor:
        for app, name in tables.values():
            cursor.execute(f'VACUUM FULL "{apps.get_model(app, name)._meta.db_table}"')


def payloads_written(*, since):
    """How many raw payloads were written (created or replaced) since ``since``."""
    from mappings.models import SourcePayload

    return SourcePayload.objects.filter(seen_at__gte=since).count()


def delta(after, before):
    return {k: (after[k][0] - before[k][0], after[k][1] - before[k][1]) for k in after}


def webhooks_deliver(key, changed, *, location_id):
    """Each change as HighLevel's signed webhook, through the portal's intake; then the jobs it
    made, run as the worker runs them. Returns how many were delivered."""
    from integrations.models import Job
    from integrations.sync.jobs import job_run
    from integrations.sync.webhooks_in import webhook_receive
    from sandbox.models import Resource
    from sandbox.state.events import event_payload

    data = dict(
        Resource.objects.filter(
            location_id=location_id, resource_id__in=[ghl_id for _k, ghl_id in changed]
        ).values_list("resource_id", "data")
    )
    sent = 0
    for (kind, ghl_id), (at, action) in changed.items():
        event_type = WEBHOOK_EVENTS.get((kind, action))
        if event_type is None or ghl_id not in data:
            continue
        payload = event_payload(
            event_type=event_type,
            location_id=location_id,
            data={**data[ghl_id], "id": ghl_id},
            extra={
                "webhookId": str(uuid.uuid4()),
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)),
            },
        )
        raw = json.dumps(payload).encode()
        signature = base64.b64encode(key.sign(raw)).decode()
        answer = webhook_receive(raw_body=raw, headers={"x-ghl-signature": signature})
        if answer.status != 200:
            raise SystemExit(f"webhook {event_type} refused: {answer.status} {answer}")
        sent += 1
    for job_id in Job.objects.filter(kind="webhook", status="queued").values_list("pk", flat=True):
        job_run(job_id=job_id)
    return sent


def walks_per_day(*, plan, walk_requests, scale):
    """Walks a day a full-size location makes of an entity whose walk took ``walk_requests`` at
    ``scale``: the project's own window (``reconcile_window_s``) at full size. Returns
    (walks a day, window in seconds)."""
    from integrations.sync.subscriptions.plans import reconcile_window_s

    window = reconcile_window_s(
        plan=plan,
        contacts=VOLUMES["contact"],
        walk_requests=max(round(walk_requests / scale), 1),
        interval_s=INTERVAL_S,
    )
    return DAY_S / window, window


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--scale", type=float, default=0.005, help="Of a full location's volumes.")
    parser.add_argument("--change", type=float, default=0.01, help="Share of each kind changed.")
    parser.add_argument("--body-sample", type=float, default=None, help="SYNC_LOG_BODY_SAMPLE.")
    parser.add_argument("--postgres")
    args = parser.parse_args()
    if args.body_sample is not None:
        os.environ["SYNC_LOG_BODY_SAMPLE"] = str(args.body_sample)
    volumes = {k: max(1, round(v * args.scale)) for k, v in VOLUMES.items()}
    volumes["user"] = max(volumes["user"], 5)
    location_ids = [f"{PREFIX}{n:04d}" for n in range(1, args.locations + 1)]
    key = signing_key()
    env = BenchEnvironment(limits_off=True, postgres=args.postgres)
    sandbox = Sandbox(port=env.port)
    phases, walks, started = {}, {}, time.monotonic()
    try:
        from django.conf import settings
        from django.db import connection
        from django.utils import timezone

        from integrations.models import EntityCoverage, Subscription
        from mappings.entities import LOCATION_PLANS

        # The empty tables' own size (their first pages, their indexes' metapages, on PostgreSQL
        # each day partition's): fixed, whatever the volume; a row costs what it adds to it.
        empty = measure()
        locations = world(volumes, location_ids=location_ids, company=COMPANY, name="Logs")
        flows_apply(locations)
        subscriptions = list(Subscription.objects.filter(location__in=locations).exclude(plan=""))
        backfill_all(subscriptions)
        backfill = measure()
        before = measure()
        # The seeded records are older than the marks' overlap: nothing changed since the backfill.
        base_polls, base_walks = poll_all(subscriptions)
        phases["unchanged_poll"] = delta(measure(), before)
        # Its walk share is counted with the complete walks below, at their full-size pace.
        logs, rows = phases["unchanged_poll"]["sync_log"]
        walk_share = sum(base_walks.values())
        phases["unchanged_poll"]["sync_log"] = (logs, max(rows - walk_share, 0))
        cycle_start = timezone.now()
        rng = random.Random(7)
        changed = {
            ghl_id: changes(rng, args.change, location_id=ghl_id, company=COMPANY)[0]
            for ghl_id in location_ids
        }
        before = measure()
        delivered = sum(
            webhooks_deliver(key, found, location_id=ghl_id) for ghl_id, found in changed.items()
        )
        phases["webhooks"] = delta(measure(), before)
        before = measure()
        _polls, walks_in_poll = poll_all(subscriptions)
        phases["poll"] = delta(measure(), before)
        logs, rows = phases["poll"]["sync_log"]
        phases["poll"]["sync_log"] = (logs, max(rows - sum(walks_in_poll.values()), 0))
        for plan in sorted({s.plan for s in subscriptions}):
            before = measure()
            walk_all([s for s in subscriptions if s.plan == plan])
            walks[plan] = delta(measure(), before)
        vendor = connection.vendor
        final = measure()
        bloated = final
        if vendor == "postgresql":
            # Rows updated in the cycle (jobs claimed, renewed, finished) leave dead versions
            # that autovacuum makes reusable in production: price the live rows, compacted.
            compact(TABLES)
            final = measure()
        store = final["raw_payloads"]
        written = payloads_written(since=cycle_start)
        counted = sandbox_counted(location_ids=location_ids, company=COMPANY)
        coverage = {}
        for c in EntityCoverage.objects.filter(location__in=locations):
            coverage.setdefault(c.entity, []).append(c)
        body_sample = getattr(settings, "SYNC_LOG_BODY_SAMPLE", "none (every body kept)")
    finally:
        sandbox.stop()
        env.close()
    n, s = args.locations, args.scale
    # One small cycle's growth in pages is mostly allocation steps: rows are counted per phase,
    # bytes are those rows at each table's measured bytes per row (indexes included) at the end.
    per_row = {
        label: (size - empty[label][0]) / max(rows - empty[label][1], 1)
        for label, (size, rows) in final.items()
    }
    rows_day = dict.fromkeys(TABLES, 0.0)

    def add(figures, factor, labels=TABLES):
        for label, (_size, rows) in figures.items():
            if label in labels and label != "raw_payloads":  # its writes are counted below
                rows_day[label] += rows * factor / n

    runs = DAY_S / INTERVAL_S
    add(phases["unchanged_poll"], runs)
    add(phases["webhooks"], 1 / s)
    driven = {
        k: (0, max(r - phases["unchanged_poll"][k][1], 0)) for k, (_b, r) in phases["poll"].items()
    }
    add(driven, 1 / s)
    walk_lines = []
    for plan, figures in sorted(walks.items()):
        requests = sum(c.last_full_pass_requests for c in coverage.get(plan, []))
        per, window = walks_per_day(plan=LOCATION_PLANS[plan], walk_requests=requests / n, scale=s)
        # In production a walk advances inside the 5-minute poll runs (their jobs are counted
        # above): only its HighLevel calls grow with the location.
        add(figures, per / s, labels=("sync_log",))
        walk_lines.append((plan, window, per, figures["sync_log"][1]))
    # The store is bounded (one row per live record); a day writes the payloads of the records
    # that changed (created or replaced).
    rows_day["raw_payloads"] = written / n / s
    for key_, value in volumes.items():
        print(f"seeded_per_location_{key_}: {value}")
    print(f"locations: {n}")
    print(f"scale: {s}")
    print(f"database: {vendor}")
    print(f"sync_log_body_sample: {body_sample}")
    print(f"webhooks_delivered: {delivered}")
    print(f"backfill_rows: {sum(r for _b, r in backfill.values())}")
    for phase, figures in phases.items():
        print(f"cycle_{phase}_rows: " + ", ".join(f"{k} {r}" for k, (_b, r) in figures.items()))
    for plan, window, per, rows in walk_lines:
        print(
            f"walk_{plan}_sync_log_rows: {rows}  (window at full size {window} s: {per:.1f} a day)"
        )
    for label, size in per_row.items():
        print(f"bytes_per_row_{label}: {size:.0f}  (empty table: {empty[label][0]} bytes, fixed)")
    if bloated is not final:
        uncompacted = sum(
            rows * bloated[label][0] / max(bloated[label][1], 1) for label, rows in rows_day.items()
        )
        print(f"mb_per_location_day_before_vacuum: {uncompacted / 1e6:.1f}  (dead rows included)")
    print(
        "scaling: rows of the unchanged poll x 288 runs; of the webhooks and the poll's "
        f"change-driven excess once / scale {s}; of each walk's HighLevel calls / scale x walks "
        f"a day at full size; raw payloads written / scale; then / {n} locations; bytes = rows x "
        "each table's bytes per row"
    )
    print(f"requests_counted: {counted}")
    print(
        f"unchanged_poll_requests: {sum(base_polls.values())} polling, {walk_share} walking "
        "(the walking counted with the walks)"
    )
    print(f"raw_payload_store_bytes_per_location: {store[0] / n / s:.0f}  (bounded, at full size)")
    print(f"raw_payload_store_rows_per_location: {store[1] / n / s:.0f}")
    print(f"elapsed_s: {time.monotonic() - started:.0f}")
    for label, rows in rows_day.items():
        print(f"bytes_per_location_day_{label}: {rows * per_row[label]:.0f}")
        print(f"rows_per_location_day_{label}: {rows:.0f}")
    size = sum(rows * per_row[label] for label, rows in rows_day.items())
    print(f"mb_per_location_day: {size / 1e6:.1f}")
    print(f"bytes_per_location_day: {size:.0f}")
    print(f"rows_per_location_day: {sum(rows_day.values()):.0f}")


if __name__ == "__main__":
    main()
