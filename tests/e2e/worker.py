"""A portal worker process: runs ``GET /contacts/`` through the door, prints one JSON line.

Started by tests with the test database and SANDBOX_BASE_URL in its environment
(:func:`tests.integrations.childproc.child_env`); all children begin their call at ``start_at``.
"""

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(start_at: float, connection_id: int):
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from integrations.catalog.services import operation_run
    from integrations.ghl.errors import GhlError

    time.sleep(max(start_at - time.time(), 0))
    try:
        answer = operation_run(connection_id=connection_id, operation_id="GET /contacts/")
        outcome = answer.status
    except GhlError as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    print(json.dumps({"outcome": outcome}))


def workers_run(*, count: int, connection_id: int, env: dict, timeout: float = 120) -> list:
    """Start ``count`` worker processes at once; their outcomes (200 or an error text)."""
    import subprocess

    start_at = time.time() + 4.0  # every child has imported Django by then
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, str(start_at), str(connection_id)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err[-3000:]
        outcomes.append(json.loads(out.strip().splitlines()[-1])["outcome"])
    return outcomes


if __name__ == "__main__":
    main(float(sys.argv[1]), int(sys.argv[2]))
