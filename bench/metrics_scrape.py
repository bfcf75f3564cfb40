"""How long one /metrics scrape takes for a fleet: 300 locations and a busy history.

Fills a throw-away database in bulk: 300 locations with a connection, 5 subscriptions and 10
entities' coverage each, 200,000 jobs (2,000 of them queued), 400,000 job attempts, 200,000
webhook events and 90,000 verifications (30 days of them), all spread over 30 days, then scrapes
``/metrics`` with the bearer token through Django's test client and prints the median:

  scrape_ms      one scrape, end to end (the view, every query, the text)
  series         the samples it returned
  queries        the SQL queries one scrape makes

SQLite by default (a temporary file); with DATABASE_URL=postgres://… it creates and drops its own
database `<name>_metrics_bench` on that server. BENCH_LOCATIONS / BENCH_JOBS change the sizes.
"""

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = tempfile.TemporaryDirectory()
os.environ["SQLITE_PATH"] = str(Path(TMP.name) / "metrics_bench.sqlite3")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("PORTAL_ENV", "test")
os.environ["METRICS_TOKEN"] = TOKEN = "bench-metrics-token-0123456789abcdef"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

LOCATIONS = int(os.environ.get("BENCH_LOCATIONS", "300"))
JOBS = int(os.environ.get("BENCH_JOBS", "200000"))
VERIFY_DAYS = int(os.environ.get("BENCH_VERIFY_DAYS", "30"))
ATTEMPTS = JOBS * 2
WEBHOOKS = JOBS
SUBSCRIPTIONS_PER_LOCATION = 5
ENTITIES = [
    "contact",
    "task",
    "note",
    "appointment",
    "user",
    "opportunity",
    "workflow",
    "socialtag",
    "tagdetail",
    "poststat",
]
SPAN_S = 30 * 24 * 3600
REPEAT = int(os.environ.get("BENCH_REPEAT", "7"))

from bench_db import BenchDatabase  # noqa: E402

DATABASE = BenchDatabase("_metrics_bench")
BENCH_DB, pg_admin = DATABASE.name, DATABASE.admin


if BENCH_DB:
    pg_admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
    pg_admin(f'CREATE DATABASE "{BENCH_DB}"')

import django  # noqa: E402

django.setup()


def bulk(model, rows, batch=5000):
    for start in range(0, len(rows), batch):
        model.objects.bulk_create(rows[start : start + batch])


def fill():
    from django.utils import timezone

    from integrations.ghl.ratelimit import ratelimit_key
    from integrations.models import (
        Connection,
        EntityCoverage,
        Heartbeat,
        HighLevelApp,
        Job,
        JobAttempt,
        RateBucket,
        Subscription,
        Verification,
        WebhookEvent,
    )
    from mappings.models import Mapping
    from portal.models import Agency, Location

    rng = random.Random(7)
    now = timezone.now()
    agency = Agency.objects.create(name="Bench agency", company_id="bench-company")
    app = HighLevelApp(name="Bench", client_id="bench", redirect_url="http://testserver/cb/")
    app.client_secret = "bench-secret-value"
    app.save()
    bulk(
        Location,
        [
            Location(agency=agency, location_id=f"loc-{i:04d}", name=f"Location {i:04d}")
            for i in range(LOCATIONS)
        ],
    )
    locations = list(Location.objects.order_by("pk"))
    connections = []
    for location in locations:
        connection = Connection(app=app, agency=agency, location=location)
        connection.access_token = "bench-token-value"
        connections.append(connection)
    bulk(Connection, connections)
    connections = list(Connection.objects.order_by("location_id"))
    bulk(
        Mapping,
        [
            Mapping(
                location=location,
                name="contacts",
                entity="contact",
                direction="inbound",
                operation_key="POST /contacts/search",
                rules=[],
            )
            for location in locations
        ],
    )
    mappings = {m.location_id: m for m in Mapping.objects.all()}
    subscriptions = []
    for location, connection in zip(locations, connections, strict=True):
        for n in range(SUBSCRIPTIONS_PER_LOCATION):
            subscriptions.append(
                Subscription(
                    location=location,
                    connection=connection,
                    trigger="Search Contacts",
                    operation="POST /contacts/search",
                    mapping=mappings[location.pk],
                    parameters={"n": n},
                    last_success_at=now - timedelta(seconds=rng.randint(10, 3600)),
                )
            )
    bulk(Subscription, subscriptions)
    bulk(
        EntityCoverage,
        [
            EntityCoverage(
                location=location,
                entity=entity,
                last_full_pass_at=now - timedelta(hours=rng.randint(1, 72)),
            )
            for location in locations
            for entity in ENTITIES
        ],
    )
    bulk(
        RateBucket,
        [
            RateBucket(
                key=ratelimit_key(app_id=app.pk, resource_id=location.location_id),
                day=now.date(),
                day_count=rng.randint(0, 50000),
            )
            for location in locations
        ],
    )
    kinds = ["poll", "backfill", "webhook", "action", "resync", "verify"]
    jobs = []
    for i in range(JOBS):
        queued = i < 2000
        jobs.append(
            Job(
                kind=kinds[i % len(kinds)],
                status="queued" if queued else ("failed" if i % 29 == 0 else "succeeded"),
                location=locations[i % LOCATIONS],
                idempotency_key=f"bench-{i}",
                attempts=0 if queued else 2,
            )
        )
    bulk(Job, jobs)
    ages = {}
    job_ids = list(Job.objects.values_list("pk", flat=True))
    stamps = [now - timedelta(seconds=SPAN_S * i / JOBS) for i in range(JOBS)]
    for chunk in range(0, JOBS, 5000):
        for pk, stamp in zip(
            job_ids[chunk : chunk + 5000], stamps[chunk : chunk + 5000], strict=True
        ):
            ages[pk] = stamp
    # queued_at is auto_now_add: set the spread in one UPDATE per day of history.
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.executemany(
            "UPDATE integrations_job SET queued_at = %s WHERE id = %s",
            [(stamp, pk) for pk, stamp in ages.items()],
        )
    attempts = []
    outcomes = ["succeeded", "failed", "succeeded", "succeeded", "worker_lost", "skipped"]
    for pk in job_ids[2000:]:
        for number in (1, 2):
            started = ages[pk] + timedelta(seconds=number * 30)
            attempts.append(
                JobAttempt(
                    job_id=pk,
                    number=number,
                    lease_token=number,
                    worker="bench:1",
                    started_at=started,
                    ended_at=started + timedelta(seconds=3),
                    outcome=outcomes[(pk + number) % len(outcomes)],
                )
            )
    bulk(JobAttempt, attempts[:ATTEMPTS])
    bulk(
        WebhookEvent,
        [
            WebhookEvent(
                webhook_id=f"wh-{i}",
                event_type="ContactUpdate",
                location=locations[i % LOCATIONS],
                status="processed" if i > 50 else "received",
                payload={"id": f"c{i}"},
            )
            for i in range(WEBHOOKS)
        ],
    )
    with db.cursor() as cursor:
        cursor.executemany(
            "UPDATE integrations_webhookevent SET received_at = %s, processed_at = %s WHERE id = %s",
            [
                (
                    now - timedelta(seconds=SPAN_S * i / WEBHOOKS),
                    now - timedelta(seconds=SPAN_S * i / WEBHOOKS - 2),
                    pk,
                )
                for i, pk in enumerate(
                    WebhookEvent.objects.order_by("pk").values_list("pk", flat=True)
                )
            ],
        )
    verifications = [
        Verification(location=location, entity=entity, mismatch_rate=rng.random() / 20)
        for _day in range(VERIFY_DAYS)
        for location in locations
        for entity in ENTITIES
    ]
    bulk(Verification, verifications)
    for component, n in (("worker", 4), ("dispatcher", 1)):
        for i in range(n):
            Heartbeat.objects.create(
                component=component,
                process=f"host-{i}:{100 + i}",
                host=f"host-{i}",
                started_at=now,
                beat_at=now,
            )
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("ANALYZE")


def main():
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    fill()
    print(f"filled in {time.perf_counter() - started:.0f} s ({connection.vendor})", flush=True)
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    client.get("/metrics", **auth)  # warm
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = client.get("/metrics", **auth)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/metrics", **auth).content.decode()
    series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    # Each group of series on its own (the collector's parts), to see where a scrape's time goes.
    from integrations.sync import metrics
    from integrations.sync.leases import db_now
    from portal.models import Location

    now = db_now()
    names = dict(Location.objects.values_list("pk", "location_id"))
    parts = {
        "freshness": lambda: metrics._freshness(now, names),
        "coverage": lambda: metrics._coverage(now, names),
        "verified": lambda: metrics._verified(now, names),
        "budget": lambda: metrics._budget(names),
        "queue": lambda: metrics._queue(now, names),
        "outcomes": lambda: metrics._outcomes(now),
        "webhooks": lambda: metrics._webhooks(now),
        "heartbeats": lambda: metrics._heartbeats(now),
    }
    for name, part in parts.items():
        start = time.perf_counter()
        if os.environ.get("BENCH_PROFILE") == name:
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.runcall(lambda: list(part()))  # noqa: B023 (called at once)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        else:
            list(part())
        print(f"  {name}: {(time.perf_counter() - start) * 1000:.1f} ms")
    from prometheus_client import generate_latest

    registry = metrics.metrics_registry()
    start = time.perf_counter()
    generate_latest(registry)
    print(f"  collect+render: {(time.perf_counter() - start) * 1000:.1f} ms")
    print(f"scrape_ms: {statistics.median(times):.1f}")
    print(f"series: {series}")
    print(f"queries: {len(queries)}")


if __name__ == "__main__":
    try:
        main()
    finally:
        from django.db import connections

        connections.close_all()
        if BENCH_DB:
            pg_admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
