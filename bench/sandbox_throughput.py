"""Throughput of the sandbox for 100-contact pages (GET /contacts/ walked by startAfterId).

Run from the repo root: `.venv/bin/python bench/sandbox_throughput.py [--contacts N] [--seconds S]`.
It makes a throw-away SQLite database (or uses DATABASE_URL when --use-database-url), seeds one
location, issues a private integration token, and walks the contact list page by page through the
whole stack (gate, validation, handler, response validation): in-process with Django's test
client (`pages_per_s`; also without the access gate, `pages_per_s_without_gate`) and over real
HTTP against gunicorn on a free port, stopped after (`http_pages_per_s`).
The figures come last as `key: value` lines.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--use-database-url", action="store_true")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="sandbox-bench-")
    if not args.use_database_url:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp.name}/bench.sqlite3"
    os.environ.setdefault("PORTAL_ENV", "development")
    os.environ["SANDBOX_ENABLED"] = "true"
    os.environ["SANDBOX_RATE_BURST"] = "100000000"  # measure the sandbox, not its rate limit
    os.environ["SANDBOX_RATE_DAILY"] = "100000000"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    location = "bench-loc-0001"
    started = time.monotonic()
    call_command(
        "sandbox_seed",
        locations=1,
        contacts=args.contacts,
        prefix="bench-loc-",
        company="bench-company",
        stdout=open(os.devnull, "w"),
    )
    seed_s = time.monotonic() - started

    from sandbox.access.services.registry import private_token_create
    from sandbox.spec.registry import registry_get

    scopes = sorted({s for op in registry_get().operations for s in op.scopes})
    token = private_token_create(location_id=location, scopes=scopes).value
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_VERSION="2021-07-28")
    first = f"/sandbox/api/contacts/?locationId={location}&limit=100"
    client.get(first)  # load the registry and warm caches

    pages, contacts, rate = walk(client, first, args.seconds / 2)
    # The same walk with the access gate (token lookup, rate-limit counters) switched off, to
    # show which half of the sandbox a slow figure comes from.
    from sandbox.api import dispatch

    real_gate = dispatch.gate_module
    dispatch.gate_module = lambda: None
    try:
        _, _, rate_no_gate = walk(client, first, args.seconds / 2)
    finally:
        dispatch.gate_module = real_gate
    http_rate = http_walk(token=token, location=location, seconds=args.seconds / 2)
    tmp.cleanup()
    print(f"seeded_contacts: {args.contacts}")
    print(f"seed_s: {seed_s:.1f}")
    print(f"pages: {pages}")
    print(f"contacts_per_page: {contacts / pages:.0f}")
    print(f"pages_per_s_without_gate: {rate_no_gate:.0f}")
    print(f"http_pages_per_s: {http_rate:.0f}")
    print(f"pages_per_s: {rate:.0f}")


def http_walk(*, token: str, location: str, seconds: float) -> float:
    """The same walk over real HTTP against gunicorn (as the demo's Procfile runs the sandbox) on a
    free port, stopped after."""
    import socket
    import subprocess

    import requests

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    base = f"http://127.0.0.1:{port}"
    first = f"{base}/sandbox/api/contacts/?locationId={location}&limit=100"
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Version": "2021-07-28"})
    try:
        for _ in range(100):  # wait up to 10 s for gunicorn to listen
            try:
                session.get(first, timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        pages, url = 0, first
        deadline = time.monotonic() + seconds
        began = time.monotonic()
        while time.monotonic() < deadline:
            response = session.get(url, timeout=10)
            response.raise_for_status()
            pages += 1
            url = response.json()["meta"]["nextPageUrl"] or first
        return pages / (time.monotonic() - began)
    finally:
        session.close()
        server.terminate()
        server.wait(timeout=10)


def walk(client, first: str, seconds: float) -> tuple[int, int, float]:
    """Follow meta.nextPageUrl for ``seconds``, starting over at the end of the list."""
    pages = contacts = 0
    url = first
    deadline = time.monotonic() + seconds
    began = time.monotonic()
    while time.monotonic() < deadline:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"page failed: {response.status_code} {response.content[:300]!r}")
        body = response.json()
        pages += 1
        contacts += len(body["contacts"])
        next_url = body["meta"]["nextPageUrl"]
        url = next_url.split("testserver", 1)[1] if next_url else first
    return pages, contacts, pages / (time.monotonic() - began)


if __name__ == "__main__":
    main()
