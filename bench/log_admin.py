"""How fast the sync-log and job lists answer with 1,000,000 log rows and 200,000 jobs.

Fills a throw-away database in bulk (one INSERT … SELECT over a recursive CTE on SQLite,
generate_series on PostgreSQL), then asks the admin changelists through Django's test client, as a
superuser and as a staff member scoped to 2 of 20 locations, and prints median milliseconds:

  synclog_ms            sync log, first page, no filter
  synclog_filtered_ms   sync log, location + HTTP 5xx + last 7 days
  jobs_ms               jobs, first page, no filter
  …and one line per other filter, search and role, then the CSV export of one location's week.

SQLite by default (a temporary file); with ``--postgres URL`` (or DATABASE_URL=postgres://…) it
creates and drops its own database `<name>_log_bench` on that server, where the sync log is
partitioned by day as the migrations make it. BENCH_SYNCLOG_ROWS / BENCH_JOB_ROWS change the
sizes (``--rows`` the sync log's); ``--keep`` leaves the filled database for a rerun with
``--reuse`` (which times the lists again without filling).

On PostgreSQL the fill drops the sync log's indexes, inserts with generate_series, then builds
the indexes again (as a restore would): ``fill_s`` is the whole of it.

  .venv/bin/python bench/log_admin.py --postgres postgres://postgres@127.0.0.1:5432/bench --rows 10000000
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = tempfile.TemporaryDirectory()
os.environ["SQLITE_PATH"] = str(Path(TMP.name) / "log_bench.sqlite3")
os.environ.setdefault("DEBUG", "false")  # no query log growing in memory
os.environ.setdefault("PORTAL_ENV", "test")
os.environ.setdefault("PORTAL_REQUIRE_MFA", "false")  # the bench superuser has no TOTP
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

ARGS = argparse.ArgumentParser(description="Times the log lists on a big sync log.")
ARGS.add_argument("--postgres", metavar="URL", help="postgres://… server to create the bench on")
ARGS.add_argument("--rows", type=int, help="sync log rows (default 1,000,000)")
ARGS.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
ARGS.add_argument("--reuse", action="store_true", help="use the kept bench database as it is")
OPTIONS = ARGS.parse_args()
if OPTIONS.postgres:
    os.environ["DATABASE_URL"] = OPTIONS.postgres
SYNCLOG_ROWS = OPTIONS.rows or int(os.environ.get("BENCH_SYNCLOG_ROWS", "1000000"))
JOB_ROWS = int(os.environ.get("BENCH_JOB_ROWS", "200000"))
LOCATIONS = 20
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
SPAN_SECONDS = 90 * 24 * 3600  # the rows cover the last 90 days
OPERATIONS = [
    "get-contacts",
    "get-contact",
    "create-contact",
    "update-contact",
    "search-opportunity",
    "get-calendar-events",
    "get-tasks",
    "create-note",
    "get-users",
    "get-location",
]

from bench_db import BenchDatabase  # noqa: E402

DATABASE = BenchDatabase("_log_bench")
BENCH_DB, pg_admin = DATABASE.name, DATABASE.admin


if BENCH_DB and not OPTIONS.reuse:
    pg_admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
    pg_admin(f'CREATE DATABASE "{BENCH_DB}"')

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

OPS_SQL = "(" + ", ".join(f"'{op}'" for op in OPERATIONS) + ")"


def _case(expr, values):
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"CASE {expr} {whens} END"


def fill_sqlite(*, loc_ids, conn_id):
    n_loc = len(loc_ids)
    loc_case = "CASE x % {n} {w} END".format(
        n=n_loc, w=" ".join(f"WHEN {i} THEN {pk}" for i, pk in enumerate(loc_ids))
    )
    step = SPAN_SECONDS / SYNCLOG_ROWS
    with connection.cursor() as cur:
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute(f"""
            WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {SYNCLOG_ROWS})
            INSERT INTO integrations_synclog (at, connection_id, location_id, operation_id, method, path,
                status, error, duration_ms, attempt, trace_id, job_id, request_summary, response_summary)
            SELECT strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || ((x * {step}) ) || ' seconds'),
                {conn_id}, {loc_case}, {_case("x % 10", OPERATIONS)},
                CASE WHEN x % 10 IN (2, 3, 7) THEN 'POST' ELSE 'GET' END,
                '/contacts/c' || x,
                CASE WHEN x % 997 = 0 THEN NULL WHEN x % 97 = 0 THEN 503 WHEN x % 50 = 0 THEN 429
                     WHEN x % 31 = 0 THEN 404 ELSE 200 END,
                CASE WHEN x % 97 = 0 THEN 'HTTP 503' ELSE '' END,
                (x * 7) % 3000, 1 + (x % 50 = 0), 'trace-' || x, x / 5,
                '', '{{"contacts": [], "meta": {{"total": 0}}}}'
            FROM s
        """)
        jstep = SPAN_SECONDS / JOB_ROWS
        cur.execute(f"""
            WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {JOB_ROWS})
            INSERT INTO integrations_job (kind, status, location_id, connection_id, operation, subject,
                params, result, idempotency_key, attempts, max_attempts, reruns, lease_token, queued_at,
                started_at, finished_at, error_class, error_message)
            SELECT {_case("x % 6", ["poll", "backfill", "action", "webhook", "resync", "rankr_event"])},
                CASE WHEN x % 101 = 0 THEN 'dead' WHEN x % 29 = 0 THEN 'failed' ELSE 'succeeded' END,
                {loc_case}, {conn_id}, 'GET /contacts/', 'c' || x, '{{}}', '{{}}', 'bench-' || x,
                1, 5, 0, 0,
                strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (x * {jstep}) || ' seconds'),
                strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (x * {jstep}) || ' seconds'),
                strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (x * {jstep} - 2) || ' seconds'),
                CASE WHEN x % 29 = 0 OR x % 101 = 0 THEN 'GhlServerError' ELSE '' END,
                CASE WHEN x % 29 = 0 OR x % 101 = 0 THEN 'HTTP 503 from HighLevel' ELSE '' END
            FROM s
        """)
        cur.execute("PRAGMA synchronous=NORMAL")


def fill_postgres(*, loc_ids, conn_id):
    from datetime import timedelta

    from django.utils import timezone

    from integrations.sync.partitions import partitions_ensure

    # One partition per day the rows cover, as the tick would have made them day by day.
    partitions_ensure(start=(timezone.now() - timedelta(seconds=SPAN_SECONDS + 86400)).date())
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "WHERE c.conrelid = 'integrations_synclog'::regclass AND c.contype = 'p'"
        )
        primary = cur.fetchone()
        cur.execute(
            "SELECT pg_get_indexdef(i.indexrelid), c.relname FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'integrations_synclog'::regclass AND NOT i.indisprimary"
        )
        indexes = cur.fetchall()
        for _definition, name in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute(f'ALTER TABLE integrations_synclog DROP CONSTRAINT "{primary[0]}"')
    _fill_postgres_rows(loc_ids=loc_ids, conn_id=conn_id)
    with connection.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '256MB'")
        cur.execute(f'ALTER TABLE integrations_synclog ADD CONSTRAINT "{primary[0]}" {primary[1]}')
        for definition, _name in indexes:
            # A partitioned table's index reads "ON ONLY <table>": built alone it would be an
            # empty, invalid parent; without ONLY it is built on every partition.
            cur.execute(definition.replace(" ON ONLY ", " ON ", 1))
        cur.execute("ANALYZE")  # what autovacuum does after a bulk load


def _fill_postgres_rows(*, loc_ids, conn_id):
    loc_array = "ARRAY[" + ",".join(str(pk) for pk in loc_ids) + "]"
    ops_array = "ARRAY[" + ",".join(f"'{op}'" for op in OPERATIONS) + "]"
    kinds = "ARRAY['poll','backfill','action','webhook','resync','rankr_event']"
    step = SPAN_SECONDS / SYNCLOG_ROWS
    jstep = SPAN_SECONDS / JOB_ROWS
    with connection.cursor() as cur:
        cur.execute(f"""
            INSERT INTO integrations_synclog (at, connection_id, location_id, operation_id, method, path,
                status, error, duration_ms, attempt, trace_id, job_id, request_summary, response_summary)
            SELECT now() - make_interval(secs => x * {step}), {conn_id},
                ({loc_array})[1 + x % {len(loc_ids)}], ({ops_array})[1 + x % 10],
                CASE WHEN x % 10 IN (2, 3, 7) THEN 'POST' ELSE 'GET' END,
                '/contacts/c' || x,
                CASE WHEN x % 997 = 0 THEN NULL WHEN x % 97 = 0 THEN 503 WHEN x % 50 = 0 THEN 429
                     WHEN x % 31 = 0 THEN 404 ELSE 200 END,
                CASE WHEN x % 97 = 0 THEN 'HTTP 503' ELSE '' END,
                (x * 7) % 3000, 1 + (x % 50 = 0)::int, 'trace-' || x, x / 5,
                '', '{{"contacts": [], "meta": {{"total": 0}}}}'
            FROM generate_series(1, {SYNCLOG_ROWS}) AS x
        """)
        cur.execute(f"""
            INSERT INTO integrations_job (kind, status, location_id, connection_id, operation, subject,
                params, result, idempotency_key, attempts, max_attempts, reruns, lease_token, queued_at,
                started_at, finished_at, error_class, error_message)
            SELECT ({kinds})[1 + x % 6],
                CASE WHEN x % 101 = 0 THEN 'dead' WHEN x % 29 = 0 THEN 'failed' ELSE 'succeeded' END,
                ({loc_array})[1 + x % {len(loc_ids)}], {conn_id}, 'GET /contacts/', 'c' || x,
                '{{}}'::jsonb, '{{}}'::jsonb, 'bench-' || x, 1, 5, 0, 0,
                now() - make_interval(secs => x * {jstep}), now() - make_interval(secs => x * {jstep}),
                now() - make_interval(secs => x * {jstep} - 2),
                CASE WHEN x % 29 = 0 OR x % 101 = 0 THEN 'GhlServerError' ELSE '' END,
                CASE WHEN x % 29 = 0 OR x % 101 = 0 THEN 'HTTP 503 from HighLevel' ELSE '' END
            FROM generate_series(1, {JOB_ROWS}) AS x
        """)


def median_ms(client, url, *, repeat=REPEAT):
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return round(statistics.median(times), 1)


def export_measure(client, url):
    tracemalloc.start()
    start = time.perf_counter()
    response = client.get(url)
    rows = -1
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return rows, round(seconds, 2), round(peak / 1e6, 1)


def main():
    from django.core.management import call_command

    from integrations.models import Connection, HighLevelApp, SyncLog
    from portal.models import Agency, Location

    call_command("migrate", verbosity=0)
    if OPTIONS.reuse and SyncLog.objects.exists():
        return measure(fill_s=0.0)
    agency = Agency.objects.create(name="Bench agency", company_id="bench-company")
    locations = [
        Location.objects.create(
            agency=agency, location_id=f"bench-loc-{i:02d}", name=f"Bench {i:02d}"
        )
        for i in range(LOCATIONS)
    ]
    app = HighLevelApp(
        name="Bench app", client_id="bench-client", redirect_url="http://testserver/cb/"
    )
    app.client_secret = "bench-secret-value"
    app.save()
    conn = Connection(app=app, agency=agency, location=locations[0])
    conn.access_token = "bench-access-token"
    conn.save()

    start = time.perf_counter()
    fill = fill_postgres if connection.vendor == "postgresql" else fill_sqlite
    fill(loc_ids=[loc.pk for loc in locations], conn_id=conn.pk)
    fill_s = round(time.perf_counter() - start, 1)
    assert SyncLog.objects.filter(trace_id="trace-12345").exists()
    measure(fill_s=fill_s)


def measure(*, fill_s):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from integrations.models import Job, SyncLog
    from portal.models import Location
    from portal.roles import AGENCY_STAFF

    locations = list(Location.objects.filter(location_id__startswith="bench-loc-").order_by("pk"))
    User = get_user_model()
    User.objects.filter(username__in=["bench-root", "bench-staff"]).delete()
    root = User.objects.create_superuser("bench-root", "root@bench.test", "bench-pass-123")
    staff = User.objects.create_user(
        "bench-staff", "staff@bench.test", "bench-pass-123", is_staff=True
    )
    staff.groups.add(Group.objects.get(name=AGENCY_STAFF))
    staff.user_permissions.add(*staff_synclog_permissions())
    for loc in locations[:2]:
        loc.staff.add(staff)

    as_root, as_staff = Client(), Client()
    as_root.force_login(root)
    as_staff.force_login(staff)
    loc = locations[3].pk
    sl = "/admin/integrations/synclog/"
    jb = "/admin/integrations/job/"
    figures = {
        "database": connection.vendor,
        "synclog_rows": SyncLog.objects.order_by().count(),
        "job_rows": Job.objects.order_by().count(),
        "fill_s": fill_s,
    }
    cases = {
        "synclog_ms": (as_root, sl),
        "synclog_filtered_ms": (as_root, f"{sl}?location={loc}&status=5xx&since=7d"),
        "synclog_page50_ms": (as_root, f"{sl}?p=50"),
        "synclog_location_ms": (as_root, f"{sl}?location={loc}"),
        "synclog_status_429_ms": (as_root, f"{sl}?status=429"),
        "synclog_failed_ms": (as_root, f"{sl}?problem=failed"),
        "synclog_operation_ms": (as_root, f"{sl}?operation=create-contact"),
        "synclog_range_ms": (as_root, f"{sl}?since=2020-01-01&until=30d"),
        "synclog_search_trace_ms": (as_root, f"{sl}?q=trace-123457"),
        "synclog_search_location_ms": (as_root, f"{sl}?q=bench-loc-05"),
        "synclog_staff_ms": (as_staff, sl),
        "synclog_staff_filtered_ms": (as_staff, f"{sl}?status=5xx&since=30d"),
        "jobs_ms": (as_root, jb),
        "jobs_filtered_ms": (as_root, f"{jb}?status__exact=failed&kind__exact=poll&since=30d"),
        "jobs_location_ms": (as_root, f"{jb}?location={loc}"),
        "jobs_attention_ms": (as_root, f"{jb}?attention=failed_day"),
        "jobs_search_subject_ms": (as_root, f"{jb}?q=c4242"),
        "jobs_search_trace_ms": (as_root, f"{jb}?q=trace-500000"),
        "jobs_staff_ms": (as_staff, jb),
        "webhooks_ms": (as_root, "/admin/integrations/webhookevent/"),
    }
    for key, (client, url) in cases.items():
        figures[key] = median_ms(client, url)
    for key in ("synclog_ms", "synclog_filtered_ms", "jobs_ms"):
        client, url = cases[key]
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        figures[key.replace("_ms", "_sql_ms")] = round(
            sum(float(q["time"]) for q in queries) * 1000, 1
        )
        figures[key.replace("_ms", "_queries")] = len(queries)
    until = locations[0].pk
    rows, seconds, peak = export_measure(as_root, f"{sl}export.csv?location={until}&since=30d")
    figures.update(export_rows=rows, export_s=seconds, export_peak_mb=peak)
    figures["synclog_search_path_ms"] = median_ms(as_root, f"{sl}?q=c777777", repeat=3)

    for key, value in figures.items():
        print(f"{key}: {value}")


def staff_synclog_permissions():
    """Staff do not see the sync log by role; the bench lets one in to time the scoped list."""
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(
        content_type__app_label="integrations", codename__in=["view_synclog", "export_synclog"]
    )


if __name__ == "__main__":
    try:
        main()
    finally:
        connection.close()
        if BENCH_DB and not OPTIONS.keep:
            pg_admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
