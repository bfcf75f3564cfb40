"""Run door calls in separate processes against the test database (for race and budget tests)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def child_env(**extra) -> dict:
    settings_dict = connection.settings_dict
    env = {**os.environ, "PORTAL_ENV": "test", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    if settings_dict["ENGINE"].endswith("sqlite3"):
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(settings_dict["NAME"])
    else:
        auth = settings_dict["USER"] + (
            f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
        )
        env["DATABASE_URL"] = (
            f"postgres://{auth}@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}"
            f"/{settings_dict['NAME']}"
        )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def children_run(*, count: int, args: list[str], env: dict, timeout: float = 120) -> list[dict]:
    """Start ``count`` children at once; each runs ``main`` below and prints one JSON line."""
    start_at = time.time() + 3.0  # all of them start their calls together, after Django is up
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, str(start_at), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main(start_at: float, mode: str, connection_id: int, repeat: int = 1):
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from integrations.ghl import ratelimit
    from integrations.ghl.client import ghl_request
    from integrations.ghl.errors import GhlError

    time.sleep(max(start_at - time.time(), 0))
    if mode == "acquire":  # only the limiter: record when each request may go
        sent = []
        key = ratelimit.ratelimit_key(app_id=1, resource_id=f"shared-{connection_id}")
        for _ in range(repeat):
            ratelimit.ratelimit_acquire(key=key)
            sent.append(time.time())
        print(json.dumps({"sent": sent}))
        return
    outcomes = []
    for _ in range(repeat):
        try:
            response = ghl_request(
                connection_id=connection_id,
                method="GET",
                path="/contacts/",
                params={"locationId": "loc-1"},
            )
            outcomes.append(response.status)
        except GhlError as exc:
            outcomes.append(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"outcomes": outcomes}))


if __name__ == "__main__":
    main(
        float(sys.argv[1]),
        sys.argv[2],
        int(sys.argv[3]),
        int(sys.argv[4]) if len(sys.argv) > 4 else 1,
    )
