"""How much of HighLevel's rate budget a backfill uses, against a sandbox enforcing the limits.

Run from the repo root: `.venv/bin/python bench/rate_budget.py [--windows N]`. It makes a
throwaway database (SQLite in a temp dir, or a test database on DATABASE_URL), seeds the sandbox
with ten locations of contacts, starts the sandbox as its own gunicorn process with HighLevel's
limits (100 requests per 10 s per app and location), connects each location through OAuth, then
backfills contact pages through the portal's door (``operation_pages``) for N rate windows:
first one location alone, then ten at once (one thread each, or with ``--processes`` one worker
process each, as the django-q2 cluster runs them). It stops the sandbox and the workers after.

``budget_pct`` = requests answered per 10 s per location, as a percentage of the 100 allowed;
``rejected_429`` = answers with status 429 (from the sync log). Target: ≥ 95 and 0.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
tmp = tempfile.TemporaryDirectory()
os.environ.setdefault("PORTAL_ENV", "test")
CHILD = sys.argv[1:2] == ["--child"]  # a worker process: the parent's environment says where
if not os.environ.get("DATABASE_URL") and not CHILD:
    os.environ["SQLITE_PATH"] = str(Path(tmp.name) / "bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
for name in (
    "SANDBOX_RATE_BURST",
    "SANDBOX_RATE_INTERVAL_MS",
    "GHL_RATE_LIMIT_BURST",
    "GHL_RATE_LIMIT_INTERVAL_MS",
):
    os.environ.pop(name, None)  # HighLevel's own limits on both sides

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

COMPANY = "bench-company-0001"
LOCATIONS = [f"bench-loc-{n:04d}" for n in range(1, 11)]
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret-0123456789abcdef"
REDIRECT = "http://127.0.0.1/integrations/oauth/callback/"
CONTACTS = 400
PAGE = 5  # small pages: many requests from a modest seed
WINDOW_S = settings.SANDBOX_RATE_INTERVAL_MS / 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sandbox_start() -> tuple[subprocess.Popen, str]:
    env = dict(os.environ)
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(db["NAME"])
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "8",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the sandbox exited with {process.returncode}")
        try:
            requests.get(f"{url}/sandbox/webhook-keys", timeout=10)
            return process, url
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise TimeoutError("the sandbox did not start")


def world_make():
    """Sandbox data, the app on both sides, and one OAuth connection per location."""
    from integrations.ghl.oauth import tokens_apply
    from integrations.models import Connection, HighLevelApp
    from portal.models import Agency, Location
    from sandbox.access.services.oauth import authorization_code_issue, token_grant
    from sandbox.access.services.registry import sandbox_app_register, sandbox_company_ensure
    from sandbox.state.seed import sandbox_seed

    scopes = ["contacts.readonly", "contacts.write", "locations.readonly"]
    company = sandbox_company_ensure(
        company_id=COMPANY,
        name="Bench Agency",
        locations=[{"location_id": loc, "name": f"Bench {loc}"} for loc in LOCATIONS],
    )
    sandbox_seed(company_id=COMPANY, location_ids=LOCATIONS, contacts=CONTACTS, users=1)
    registered = sandbox_app_register(
        name="Bench",
        redirect_uris=[REDIRECT],
        scopes=scopes,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    app = HighLevelApp(
        name="Bench",
        mode=HighLevelApp.Mode.SANDBOX,
        client_id=CLIENT_ID,
        redirect_url=REDIRECT,
        scopes=" ".join(scopes),
    )
    app.client_secret = CLIENT_SECRET
    app.save()
    agency = Agency.objects.create(name="Bench Agency", company_id=COMPANY)
    ids = {}
    for loc in LOCATIONS:
        code = authorization_code_issue(
            app=registered.app,
            company=company,
            location_ids=[loc],
            agency_chosen=False,
            redirect_uri=REDIRECT,
            scopes=scopes,
        )
        payload = token_grant(
            data={
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "grant_type": "authorization_code",
                "code": code,
                "user_type": "Location",
                "redirect_uri": REDIRECT,
            }
        )
        location = Location.objects.create(agency=agency, location_id=loc, name=f"Bench {loc}")
        conn = Connection(app=app, agency=agency, location=location, kind=Connection.Kind.LOCATION)
        tokens_apply(connection=conn, payload=payload)
        conn.save()
        ids[loc] = conn.pk
    return ids


def backfill_until(
    *, connection_id: int, deadline: float, counts: list, start_at: float = 0
) -> None:
    """Page through the location's contacts again and again until ``deadline``."""
    from integrations.catalog.services import operation_pages
    from integrations.ghl.errors import GhlError

    time.sleep(max(start_at - time.time(), 0))

    try:
        while time.time() < deadline:
            for _ in operation_pages(
                connection_id=connection_id, operation_id="GET /contacts/", limit=PAGE
            ):
                if time.time() > deadline:
                    return  # answered after the measured windows: not counted
                counts.append(1)
    except GhlError as exc:
        print(f"backfill stopped: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        connections.close_all()


def child_env(url: str) -> dict:
    env = dict(os.environ, SANDBOX_BASE_URL=url + "/sandbox")
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(db["NAME"])
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return env


def scenario(*, connection_ids: list, windows: int, url: str, processes: bool) -> tuple[float, int]:
    """Backfill every connection for ``windows`` rate windows: threads here, or one worker
    process each (as the django-q2 cluster would run them). Returns (budget %, 429s)."""
    from integrations.models import SyncLog

    before = SyncLog.objects.filter(status=429).count()
    start_at = time.time() + (8 if processes else 0.5)  # children import Django first
    deadline = start_at + windows * WINDOW_S
    if processes:
        children = [
            subprocess.Popen(
                [sys.executable, __file__, "--child", str(cid), str(start_at), str(deadline)],
                cwd=ROOT,
                env=child_env(url),
                stdout=subprocess.PIPE,
                text=True,
            )
            for cid in connection_ids
        ]
        achieved = sum(
            int(child.communicate(timeout=windows * WINDOW_S + 120)[0].split()[-1])
            for child in children
        )
    else:
        counts = [[] for _ in connection_ids]
        threads = [
            threading.Thread(
                target=backfill_until,
                kwargs={
                    "connection_id": cid,
                    "deadline": deadline,
                    "counts": counts[i],
                    "start_at": start_at,
                },
            )
            for i, cid in enumerate(connection_ids)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        achieved = sum(len(c) for c in counts)
    allowed = settings.GHL_RATE_LIMIT_BURST * windows * len(connection_ids)
    return 100 * achieved / allowed, SyncLog.objects.filter(status=429).count() - before


def child_main(connection_id: int, start_at: float, deadline: float) -> None:
    counts = []
    backfill_until(connection_id=connection_id, deadline=deadline, counts=counts, start_at=start_at)
    print(len(counts))


def main():
    if CHILD:
        child_main(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--windows", type=int, default=3, help="10-second rate windows per run (3)."
    )
    parser.add_argument(
        "--processes",
        action="store_true",
        help="Ten worker processes instead of ten threads for the second run.",
    )
    args = parser.parse_args()
    setup_test_environment()
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    process = None
    try:
        ids = world_make()
        process, url = sandbox_start()
        settings.SANDBOX_BASE_URL = url + "/sandbox"
        one_pct, one_429 = scenario(
            connection_ids=[ids[LOCATIONS[0]]], windows=args.windows, url=url, processes=False
        )
        ten_pct, ten_429 = scenario(
            connection_ids=[ids[loc] for loc in LOCATIONS],
            url=url,
            windows=args.windows,
            processes=args.processes,
        )
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        connections.close_all()
        connection.creation.destroy_test_db(db_name, verbosity=0)
        tmp.cleanup()
    print(f"database: {connection.vendor}")
    print(f"windows: {args.windows} x {WINDOW_S:.0f} s, page size {PAGE}")
    print(f"one_location_budget_pct: {one_pct:.1f}")
    print(f"one_location_rejected_429: {one_429}")
    print(f"ten_locations_budget_pct: {ten_pct:.1f}")
    print(f"ten_locations_rejected_429: {ten_429}")
    print(f"budget_pct: {min(one_pct, ten_pct):.1f}")
    print(f"rejected_429: {one_429 + ten_429}")


if __name__ == "__main__":
    main()
