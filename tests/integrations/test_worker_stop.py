"""The worker (``manage.py worker``, the Procfile's line) stops when its whole process group gets
SIGTERM (systemd's default, honcho, a terminal): django-q2's own ``qcluster`` hung there until it
was killed (django-q2 #346; the fault matrix's restore waited 20 s for it each time)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.integrations.childproc import child_env
from tests.integrations.subscriptions.test_e2e_sandbox import Child

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _running(child, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "running." in child.output():
            return
        assert child.proc.poll() is None, child.output()
        time.sleep(0.2)
    raise AssertionError(f"the cluster did not start:\n{child.output()}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_to_the_whole_group_stops_the_worker_within_seconds(sig):
    env = child_env(Q_WORKERS=2, LOG_LEVEL="INFO", Q_CLUSTER_NAME=f"stop-{os.getpid()}")
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    child = Child([sys.executable, "manage.py", "worker"], env)
    try:
        _running(child)
        time.sleep(1.5)  # the sentinel waits on its stop event now (where the hang began)
        began = time.monotonic()
        os.killpg(child.proc.pid, sig)
        try:
            child.proc.wait(15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 15 s after the group's {sig.name}:\n{child.output()}")
        assert time.monotonic() - began < 15
        assert "has stopped" in child.output(), child.output()
    finally:
        child.kill()
