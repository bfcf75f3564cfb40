"""Cost of the sandbox's access gate per API request (token, scope, rate limit, fault lookup).

Run from the repo root: `.venv/bin/python bench/sandbox_gate.py`. Uses a throwaway SQLite
database (or DATABASE_URL if set), migrates it, times gate_enter + gate_leave in-process.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
tmp = tempfile.TemporaryDirectory()
os.environ.setdefault("PORTAL_ENV", "test")
if not os.environ.get("DATABASE_URL"):
    os.environ["SQLITE_PATH"] = str(Path(tmp.name) / "bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ["SANDBOX_RATE_BURST"] = "1000000000"

import django  # noqa: E402

django.setup()

from dataclasses import dataclass, field  # noqa: E402

from django.db import connection  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


@dataclass(frozen=True)
class Operation:
    method: str = "GET"
    path: str = "/contacts/"
    operation_id: str = "get-contacts"
    scopes: list = field(default_factory=lambda: ["contacts.readonly"])
    spec_file: str = "contacts.json"


def main(n=2000):
    setup_test_environment()
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from sandbox.access.gate import gate_enter, gate_leave
        from sandbox.access.services.faults import fault_rule_set
        from sandbox.access.services.registry import (
            private_token_create,
            sandbox_demo_company_ensure,
        )

        sandbox_demo_company_ensure()
        token = private_token_create(
            location_id="demo-loc-0001", scopes=["contacts.readonly"]
        ).value
        factory = RequestFactory()
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_VERSION": "2021-07-28"}

        def run(count):
            started = time.perf_counter()
            for _ in range(count):
                request = factory.get("/sandbox/contacts/", **headers)
                result = gate_enter(request=request, operation=Operation())
                assert result.response is None
                gate_leave(request=request, result=result, response=JsonResponse({}))
            return time.perf_counter() - started

        run(50)
        plain = run(n)
        fault_rule_set(location_id="demo-loc-0001", values={"seed": 1})  # a rule with no faults
        with_rule = run(n)
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)
        tmp.cleanup()
    print(f"database: {connection.vendor}")
    print(f"requests: {n}")
    print(f"gate_per_s: {n / plain:.0f}")
    print(f"gate_ms_per_request: {1000 * plain / n:.2f}")
    print(f"gate_with_fault_rule_ms_per_request: {1000 * with_rule / n:.2f}")


if __name__ == "__main__":
    main()
