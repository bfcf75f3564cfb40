"""How long erasing one person takes with 1,000,000 sync-log rows, 100,000 webhook events and
200,000 jobs over 20 locations (the person mentioned in 50 of each).

Fills a throw-away database in bulk, then runs ``person_erase`` once and checks that no row of
those tables still holds the person's address. Prints:

  erase_s          wall time of one erasure
  synclog_rows     sync-log rows in the database
  rows_masked      rows the erasure changed (every store)

SQLite by default (a temporary file); with DATABASE_URL=postgres://… it creates and drops its own
database `<name>_erase_bench`. BENCH_SYNCLOG_ROWS changes the size (events a tenth, jobs a fifth).
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = tempfile.TemporaryDirectory()
os.environ["SQLITE_PATH"] = str(Path(TMP.name) / "erase_bench.sqlite3")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("PORTAL_ENV", "test")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

ROWS = int(os.environ.get("BENCH_SYNCLOG_ROWS", "1000000"))
LOCATIONS = 20
EMAIL = "jane.roe@example.org"
MENTIONS = 50

from bench_db import BenchDatabase  # noqa: E402

DATABASE = BenchDatabase("_erase_bench")
BENCH_DB, pg_admin = DATABASE.name, DATABASE.admin


if BENCH_DB:
    pg_admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
    pg_admin(f'CREATE DATABASE "{BENCH_DB}"')

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402


def series(n):
    """A FROM clause giving x = 1..n."""
    if connection.vendor == "postgresql":
        return f"generate_series(1, {n}) AS x"
    return f"(WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {n}) SELECT x FROM s)"


def fill(loc_ids):
    pick = "CASE x % {n} {w} END".format(
        n=len(loc_ids), w=" ".join(f"WHEN {i} THEN {pk}" for i, pk in enumerate(loc_ids))
    )
    now = "now()" if connection.vendor == "postgresql" else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    # Every (ROWS / MENTIONS)th row is about Jane, at the first location.
    every = max(1, ROWS // MENTIONS)
    body = (
        f"CASE WHEN x % {every} = 0 THEN "
        f'\'{{"contacts": [{{"id": "c-jane", "email": "{EMAIL}"}}]}}\' '
        'ELSE \'{"contacts": [{"id": "c-\' || x || \'", "email": "p\' || x || \'@example.com"}]}\' END'
    )
    loc = f"CASE WHEN x % {every} = 0 THEN {loc_ids[0]} ELSE {pick} END"
    jsonb = "::jsonb" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cur:
        cur.execute(f"""
            INSERT INTO integrations_synclog (at, location_id, operation_id, method, path, status,
                error, duration_ms, attempt, trace_id, request_summary, response_summary)
            SELECT {now}, {loc}, 'search-contacts', 'POST', '/contacts/search', 200, '', 100, 1,
                'trace-' || x, '', {body}
            FROM {series(ROWS)}
        """)
        cur.execute(
            f"""
            INSERT INTO integrations_webhookevent (received_at, webhook_id, event_type,
                highlevel_location_id, location_id, scheme, payload, status, reason)
            SELECT {now}, 'wh-' || x, 'ContactUpdate', '', {loc}, 'ed25519',
                ({body.replace("'contacts'", "'contacts'")}){jsonb}, 'processed', ''
            FROM {series(ROWS // 10)}
        """.replace(f"x % {every}", f"x % {max(1, ROWS // 10 // MENTIONS)}")
        )
        cur.execute(
            f"""
            INSERT INTO integrations_job (kind, status, location_id, operation, subject, params,
                result, idempotency_key, attempts, max_attempts, reruns, queued_at, lease_token,
                error_class, error_message)
            SELECT 'webhook', 'succeeded', {loc}, '', 'c-' || x, '{{}}'{jsonb},
                ({body}){jsonb}, 'bench-' || x, 1, 5, 0, {now}, 0, '', ''
            FROM {series(ROWS // 5)}
        """.replace(f"x % {every}", f"x % {max(1, ROWS // 5 // MENTIONS)}")
        )
        if connection.vendor == "postgresql":
            cur.execute("ANALYZE")


def main():
    from django.core.management import call_command

    from integrations.models import Job, SyncLog, WebhookEvent
    from integrations.sync.erasure import person_erase
    from portal.models import Agency, Location
    from rankr.models import Contact

    try:
        call_command("migrate", verbosity=0)
        agency = Agency.objects.create(name="Bench", company_id="bench")
        locs = [
            Location.objects.create(agency=agency, location_id=f"bench-{i}", name=f"L{i}")
            for i in range(LOCATIONS)
        ]
        Contact.objects.create(location=locs[0], ghl_id="c-jane", email=EMAIL, first_name="Jane")
        start = time.perf_counter()
        fill([loc.pk for loc in locs])
        print(f"filled in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        start = time.perf_counter()
        erasure = person_erase(location_id=locs[0].pk, email=EMAIL)
        seconds = time.perf_counter() - start
        left = sum(
            model.objects.filter(**{f"{field}__icontains": EMAIL}).count()
            for model, field in [
                (SyncLog, "response_summary"),
                (Job, "result__contacts__0__email"),
                (WebhookEvent, "payload__contacts__0__email"),
            ]
        )
        if left:
            raise SystemExit(f"{left} rows still hold the address")
        print(f"erase_s: {seconds:.2f}")
        print(f"synclog_rows: {SyncLog.objects.count()}")
        print(f"rows_masked: {sum(erasure.rows.values())}")
    finally:
        connection.close()
        if BENCH_DB:
            pg_admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')


if __name__ == "__main__":
    main()
