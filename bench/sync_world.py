"""Shared set-up for the sync benchmarks (not a benchmark itself).

``bench_environment`` points Django at a throw-away database (SQLite in a temp directory, or a
fresh database on the PostgreSQL server given by ``--postgres URL``) and the HighLevel sandbox at a
free port; ``Sandbox`` runs the sandbox as a gunicorn subprocess of the same project; ``world_make``
seeds sandbox locations with contacts and gives each a portal location, a private-token connection,
the contact mapping and subscriptions.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
BIN = Path(PYTHON).parent
UNLIMITED = "100000000"
SCOPES = ["contacts.readonly", "contacts.write"]


def process_group_stats(pgid):
    """``(pid, fields)`` of each live process in process group ``pgid``: the fields of its
    ``/proc/<pid>/stat`` after the command name (fields[2] is the group, 11 to 14 the CPU ticks)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp (field 5)
            yield int(entry), fields


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BenchEnvironment:
    def __init__(self, *, limits_off=True, postgres=None, redis=False, sqlite_dir=None, extra=None):
        """``redis``: start a Redis server of our own on a free port (never a shared one's data)
        and point the broker and cache at it. ``sqlite_dir``: where the SQLite file lives (a
        directory the caller owns, e.g. a small mount), else a temp directory. ``extra``:
        more environment for this process and every subprocess."""
        self.tmp = tempfile.TemporaryDirectory(prefix="sync-bench-")
        self.port = free_port()
        self.postgres, self.pg_name = postgres, None
        self.redis = RedisServer() if redis else None
        env = {
            "PORTAL_ENV": "test",
            "DEBUG": "false",
            "SANDBOX_ENABLED": "true",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "LOG_LEVEL": "WARNING",
            "SANDBOX_BASE_URL": f"http://127.0.0.1:{self.port}/sandbox",
            "Q_CLUSTER_NAME": f"bench{uuid.uuid4().hex[:8]}",
        }
        if postgres:
            self.pg_name = f"bench_sync_{uuid.uuid4().hex[:8]}"
            _pg_admin(postgres, f'CREATE DATABASE "{self.pg_name}"')
            env["DATABASE_URL"] = postgres.rsplit("/", 1)[0] + "/" + self.pg_name
        else:  # through SQLITE_PATH, so the settings' WAL and busy timeout apply
            os.environ.pop("DATABASE_URL", None)
            env["SQLITE_PATH"] = f"{sqlite_dir or self.tmp.name}/bench.sqlite3"
        if self.redis:
            self.redis.start()
            env["REDIS_URL"] = self.redis.url
        else:
            os.environ.pop("REDIS_URL", None)
        env.update({k: str(v) for k, v in (extra or {}).items()})
        if limits_off:
            env.update(
                SANDBOX_RATE_BURST=UNLIMITED,
                SANDBOX_RATE_DAILY=UNLIMITED,
                GHL_RATE_LIMIT_BURST=UNLIMITED,
                GHL_RATE_LIMIT_DAILY=UNLIMITED,
            )
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)

    def close(self):
        from django.db import connections

        connections.close_all()
        if self.pg_name:
            _pg_admin(self.postgres, f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        if self.redis:
            self.redis.stop()
        self.tmp.cleanup()

    @property
    def database_url(self):
        return os.environ.get("DATABASE_URL", "")


class RedisServer:
    """A redis-server of our own on a free port: no persistence, stopped (and started again,
    empty) at will."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        server = shutil.which("redis-server")
        if not server:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [
                server,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("redis-server did not start")
            time.sleep(0.1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _pg_admin(url, statement):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


class Process:
    """A subprocess of this project (same environment), stopped on exit. In its own process
    group, so a signal reaches its children too (a qcluster's worker processes, gunicorn's
    workers). ``stop()`` sends SIGTERM to the whole group, as honcho and systemd do, then SIGKILL
    to what is left."""

    def __init__(self, args, *, name, env=None):
        self.name = name
        self.log = open(Path(tempfile.gettempdir()) / f"{name}-{os.getpid()}.log", "a+")
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _signal(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self):
        """SIGKILL to the whole group, as a lost host would."""
        if self.proc.poll() is None:
            self._signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self, sig=None):
        if self.proc.poll() is None:
            self._signal(sig or signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._signal(signal.SIGKILL)  # children the group's leader left behind
        if not self.log.closed:
            self.log.close()

    def tail(self, chars=3000):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-chars:]


class Sandbox(Process):
    """The sandbox under gunicorn. With ``BENCH_PROFILE=DIR`` in the environment it runs one
    single-threaded worker under cProfile and writes ``DIR/sandbox-<pid>.prof`` on stop
    (``bench/gunicorn_profile.py``)."""

    def __init__(
        self, *, port, workers=2, threads=4, name="sandbox", path="/sandbox/api/contacts/"
    ):
        profile = []
        if os.environ.get("BENCH_PROFILE"):
            workers, threads = 1, 1
            profile = ["--config", str(ROOT / "bench" / "gunicorn_profile.py")]
        super().__init__(
            [
                str(BIN / "gunicorn"),
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--timeout",
                "120",
                *profile,
            ],
            name=name,
            env={"DB_CONN_MAX_AGE": "300"},  # not a connection (and its PRAGMAs) per request
        )
        self.base = f"http://127.0.0.1:{port}/sandbox"
        self.root = f"http://127.0.0.1:{port}"
        self._path = path
        self._wait()

    def _wait(self):
        import requests

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the sandbox did not start:\n{self.tail()}")
            try:
                requests.get(self.root + self._path, timeout=30)
                return
            except requests.RequestException:
                time.sleep(0.3)
        raise SystemExit(f"the sandbox did not answer within 60 s:\n{self.tail()}")


def qcluster(*, workers=2, name="qcluster", env=None):
    return Process(
        [PYTHON, "manage.py", "worker"],  # the Procfile's worker line
        name=name,
        env={"Q_WORKERS": str(workers), **(env or {})},
    )


def dispatcher(*, every=5, name="dispatcher", env=None):
    """The Procfile's dispatcher line: the tick every few seconds."""
    return Process(
        [PYTHON, "manage.py", "dispatch", "--loop", "--every", str(every)], name=name, env=env
    )


def world_make(
    *,
    locations,
    contacts,
    triggers=("Search Contacts",),
    seed_prefix="bench-loc-",
    company="bench-company",
):
    """Seed ``locations`` sandbox locations with ``contacts`` each; one portal subscription per
    (location, trigger). Returns the subscriptions (bulk-created: no per-row checks)."""
    from django.core.management import call_command

    from integrations.catalog.named import named_get
    from integrations.models import Connection, HighLevelApp, Subscription
    from mappings.services import mapping_template_apply
    from portal.models import Agency, Location
    from sandbox.access.services.registry import private_token_create

    with open(os.devnull, "w") as quiet:
        call_command(
            "sandbox_seed",
            locations=locations,
            contacts=contacts,
            users=0,
            prefix=seed_prefix,
            company=company,
            stdout=quiet,
        )
    agency, _ = Agency.objects.get_or_create(company_id=company, defaults={"name": "Bench agency"})
    app = HighLevelApp(
        name="Bench app",
        mode=HighLevelApp.Mode.SANDBOX,
        client_id="bench-client",
        redirect_url="http://127.0.0.1/callback/",
    )
    app.client_secret = "bench-secret"
    app.save()
    subscriptions = []
    for n in range(1, locations + 1):
        ghl_id = f"{seed_prefix}{n:04d}"
        location = Location.objects.create(
            agency=agency, location_id=ghl_id, name=f"Bench {ghl_id}"
        )
        connection = Connection(
            app=app,
            agency=agency,
            location=location,
            kind=Connection.Kind.LOCATION,
            auth_type=Connection.AuthType.PRIVATE,
            scopes=" ".join(SCOPES),
        )
        connection.access_token = private_token_create(location_id=ghl_id, scopes=SCOPES).value
        connection.save()
        mapping, _ = mapping_template_apply(
            template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
        )
        for trigger in triggers:
            subscriptions.append(
                Subscription(
                    location=location,
                    connection=connection,
                    mapping=mapping,
                    trigger=trigger,
                    operation=named_get(trigger).key,
                )
            )
    return Subscription.objects.bulk_create(subscriptions, batch_size=500)


def run_inline(subscription, *, backfill=False):
    """Run one job for ``subscription`` in this process. Returns the job."""
    from integrations.sync.jobs import job_run
    from integrations.sync.subscriptions import subscription_run_now

    job = subscription_run_now(subscription_id=subscription.pk, user_id=None, backfill=backfill)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    if job.status != "succeeded":
        raise SystemExit(f"the run failed: {job.error_class}: {job.error_message}")
    subscription.refresh_from_db()
    return job
