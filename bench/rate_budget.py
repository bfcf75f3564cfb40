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

Where the rest of the budget went, per run: ``*_portal_cpu_ms_per_request`` (this process, or
the worker processes, by ``time.process_time``), ``*_sandbox_cpu_ms_per_request`` (the gunicorn
master and workers, from ``/proc``), ``*_database_cpu_ms_per_request`` (PostgreSQL's backends for
this database), ``*_cpu_busy_pct`` (all three, as a share of the machine's cores
over the run), ``*_machine_busy_pct`` (every process on the machine, from ``/proc/stat``: near
100 with a low ``cpu_busy_pct``, other work starved the run of CPU), ``*_limiter_wait_pct`` (share of each location's
time spent waiting for the rate limiter) and ``*_page_ms_p50``/``p90`` (a page through the door,
limiter wait excluded). A location pages one request at a time, so it cannot use its budget
unless a page takes under 100 ms.

Profile: ``BENCH_PROFILE=DIR`` writes ``DIR/portal-<pid>-<location>.prof`` per location (cProfile
of its thread's CPU time) and runs the sandbox as one single-threaded worker under cProfile
(``bench/gunicorn_profile.py``, ``DIR/sandbox-<pid>.prof``). Read with ``python -m pstats``.
"""

import argparse
import cProfile
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
tmp = tempfile.TemporaryDirectory()
os.environ.setdefault("PORTAL_ENV", "test")
CHILD = sys.argv[1:2] == ["--child"]  # a worker process: the parent's environment says where
if not os.environ.get("DATABASE_URL") and not CHILD:
    os.environ["SQLITE_PATH"] = str(Path(tmp.name) / "bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# As a deployment runs them: DEBUG off (no query log kept per connection), the sandbox keeping
# its database connection between requests (one per request was a tenth of its CPU).
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SANDBOX_ENABLED", "true")
os.environ.setdefault("LOG_LEVEL", "WARNING")
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
PROFILE = os.environ.get("BENCH_PROFILE", "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_env() -> dict:
    """The environment that points a subprocess at this run's database."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(db["NAME"])}
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return {"DATABASE_URL": f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"}


def sandbox_start() -> tuple[subprocess.Popen, str]:
    env = {**os.environ, **database_env(), "DB_CONN_MAX_AGE": "300"}
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
            "1" if PROFILE else "2",
            "--threads",
            "1" if PROFILE else "8",
            "--log-level",
            "warning",
            *(["--config", str(ROOT / "bench" / "gunicorn_profile.py")] if PROFILE else []),
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
            for _ in range(8):  # each worker loads the API's specs on its first call: not measured
                requests.get(f"{url}/sandbox/api/bench-warm-up", timeout=60)
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


@dataclass
class Tally:
    """One location's run: each page answered in time (seconds, the limiter's wait excluded),
    the limiter's total wait, and the CPU seconds of the process that ran it (worker processes)."""

    pages: list = field(default_factory=list)
    waited: float = 0.0
    cpu: float = 0.0


_tally = threading.local()


def _sleep_counted(seconds: float) -> None:
    """The limiter's sleep (its tests' hook), adding up how long this thread waited."""
    _tally.current.waited += seconds
    time.sleep(seconds)


def backfill_until(*, connection_id: int, deadline: float, tally: Tally, start_at: float) -> None:
    """Page through the location's contacts again and again until ``deadline``."""
    from integrations.catalog.services import operation_pages
    from integrations.ghl import ratelimit
    from integrations.ghl.errors import GhlError

    ratelimit._sleep = _sleep_counted
    _tally.current = tally
    profile = cProfile.Profile(time.thread_time) if PROFILE else None
    time.sleep(max(start_at - time.time(), 0))
    if profile:
        profile.enable()
    try:
        while time.time() < deadline:
            pages = operation_pages(
                connection_id=connection_id, operation_id="GET /contacts/", limit=PAGE
            )
            while True:
                began, waited = time.monotonic(), tally.waited
                if next(pages, None) is None:
                    break
                if time.time() > deadline:
                    return  # answered after the measured windows: not counted
                tally.pages.append(time.monotonic() - began - (tally.waited - waited))
    except GhlError as exc:
        print(f"backfill stopped: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        if profile:
            profile.disable()
            profile.dump_stats(Path(PROFILE) / f"portal-{os.getpid()}-{connection_id}.prof")
        connections.close_all()


def child_env(url: str) -> dict:
    return {**os.environ, **database_env(), "SANDBOX_BASE_URL": url + "/sandbox"}


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live descendants, from ``/proc``."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # gone meanwhile
    return total


def machine_busy() -> tuple[int, int]:
    """(busy, total) clock ticks of every core since boot, from ``/proc/stat``."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return sum(ticks) - idle, sum(ticks)


def database_cpu() -> float:
    """CPU seconds of the PostgreSQL backends serving this run's database (0 on SQLite, whose
    work is already in the processes that use it). Connections are kept, so their backends
    live through a run."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return sum(process_tree_cpu(pid) for (pid,) in cursor.fetchall())


@dataclass
class Run:
    budget_pct: float
    rejected_429: int
    requests: int
    seconds: float
    portal_cpu: float
    sandbox_cpu: float
    database_cpu: float
    machine_busy_pct: float
    waited: float
    pages: list

    def lines(self, prefix: str) -> list[str]:
        per = 1000 / max(self.requests, 1)
        cores = os.cpu_count() or 1
        used = self.portal_cpu + self.sandbox_cpu + self.database_cpu
        busy = 100 * used / (self.seconds * cores)
        pages = sorted(self.pages) or [0.0]
        return [
            f"{prefix}_budget_pct: {self.budget_pct:.1f}",
            f"{prefix}_rejected_429: {self.rejected_429}",
            f"{prefix}_portal_cpu_ms_per_request: {self.portal_cpu * per:.1f}",
            f"{prefix}_sandbox_cpu_ms_per_request: {self.sandbox_cpu * per:.1f}",
            f"{prefix}_database_cpu_ms_per_request: {self.database_cpu * per:.1f}",
            f"{prefix}_cpu_busy_pct: {busy:.0f}",
            f"{prefix}_machine_busy_pct: {self.machine_busy_pct:.0f}",
            f"{prefix}_limiter_wait_pct: {100 * self.waited / self.seconds:.0f}",
            f"{prefix}_page_ms_p50: {1000 * pages[len(pages) // 2]:.0f}",
            f"{prefix}_page_ms_p90: {1000 * pages[len(pages) * 9 // 10]:.0f}",
        ]


def scenario(*, connection_ids: list, windows: int, url: str, processes: bool, sandbox: int) -> Run:
    """Backfill every connection for ``windows`` rate windows: threads here, or one worker
    process each (as the django-q2 cluster would run them)."""
    from integrations.models import SyncLog

    before = SyncLog.objects.filter(status=429).count()
    start_at = time.time() + (8 if processes else 0.5)  # children import Django first
    deadline = start_at + windows * WINDOW_S
    time.sleep(max(start_at - 0.2 - time.time(), 0))
    cpu, sandbox_cpu, db_cpu = time.process_time(), process_tree_cpu(sandbox), database_cpu()
    machine = machine_busy()
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
        tallies = [
            Tally(**json.loads(child.communicate(timeout=windows * WINDOW_S + 120)[0]))
            for child in children
        ]
    else:
        tallies = [Tally() for _ in connection_ids]
        threads = [
            threading.Thread(
                target=backfill_until,
                kwargs={
                    "connection_id": cid,
                    "deadline": deadline,
                    "tally": tallies[i],
                    "start_at": start_at,
                },
            )
            for i, cid in enumerate(connection_ids)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        tallies[0].cpu = time.process_time() - cpu  # this process ran them all
    sandbox_cpu = process_tree_cpu(sandbox) - sandbox_cpu
    db_cpu = database_cpu() - db_cpu  # backends opened during the run count from their start
    busy, total = (after - before for after, before in zip(machine_busy(), machine, strict=True))
    achieved = sum(len(t.pages) for t in tallies)
    allowed = settings.GHL_RATE_LIMIT_BURST * windows * len(connection_ids)
    return Run(
        budget_pct=100 * achieved / allowed,
        rejected_429=SyncLog.objects.filter(status=429).count() - before,
        requests=achieved,
        seconds=windows * WINDOW_S,
        portal_cpu=sum(t.cpu for t in tallies),
        sandbox_cpu=sandbox_cpu,
        database_cpu=db_cpu,
        machine_busy_pct=100 * busy / max(total, 1),
        waited=sum(t.waited for t in tallies) / len(tallies),
        pages=[page for t in tallies for page in t.pages],
    )


def child_main(connection_id: int, start_at: float, deadline: float) -> None:
    tally = Tally()
    time.sleep(max(start_at - 0.2 - time.time(), 0))
    cpu = time.process_time()
    backfill_until(connection_id=connection_id, deadline=deadline, tally=tally, start_at=start_at)
    tally.cpu = time.process_time() - cpu
    print(json.dumps(asdict(tally)))


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
    print(f"load_1m_before: {os.getloadavg()[0]:.1f}")
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    process = None
    try:
        ids = world_make()
        process, url = sandbox_start()
        settings.SANDBOX_BASE_URL = url + "/sandbox"
        one = scenario(
            connection_ids=[ids[LOCATIONS[0]]],
            windows=args.windows,
            url=url,
            processes=False,
            sandbox=process.pid,
        )
        # The first location's last window of sends still counts against it for one window:
        # wait it out, so each run starts with every location's whole budget.
        time.sleep(WINDOW_S + settings.GHL_RATE_LIMIT_SAFETY_MS / 1000)
        ten = scenario(
            connection_ids=[ids[loc] for loc in LOCATIONS],
            url=url,
            windows=args.windows,
            processes=args.processes,
            sandbox=process.pid,
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
    print(f"load_1m_after: {os.getloadavg()[0]:.1f}")
    print("\n".join(one.lines("one_location")))
    print("\n".join(ten.lines("ten_locations")))
    print(f"budget_pct: {min(one.budget_pct, ten.budget_pct):.1f}")
    print(f"rejected_429: {one.rejected_429 + ten.rejected_429}")


if __name__ == "__main__":
    main()
