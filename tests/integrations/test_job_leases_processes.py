"""Two worker processes, one with its clock 20 s ahead: leases follow the database's clock, a
slow live job is not taken, a stalled worker's job is taken up within its lease plus one tick,
and the stalled worker, once it wakes, is refused by the fence."""

import json
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from integrations.models import Job
from integrations.sync.jobs import job_enqueue
from integrations.sync.leases import db_now
from tests.integrations.childproc import ROOT, child_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LEASE_S, HEARTBEAT_S, TICK_S = 4, 1, 0.5
CHILD = str(ROOT / "tests/integrations/jobs_child.py")


class Worker:
    def __init__(self, name, args, skew=0):
        self.out = tempfile.TemporaryFile("w+")
        env = child_env(
            WORKER_NAME=name,
            SKEW_S=skew,
            JOB_LEASE_S=LEASE_S,
            JOB_HEARTBEAT_S=HEARTBEAT_S,
            LOG_LEVEL="ERROR",
        )
        self.proc = subprocess.Popen(
            [sys.executable, CHILD, *args],
            cwd=ROOT,
            env=env,
            stdout=self.out,
            stderr=subprocess.STDOUT,
        )

    def events(self):
        self.out.seek(0)
        return [json.loads(line) for line in self.out.read().splitlines() if line.startswith("{")]

    def output(self):
        self.out.seek(0)
        return self.out.read()[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_leases_follow_the_database_clock_and_a_stale_worker_is_fenced():
    job = job_enqueue(
        kind="action",
        idempotency_key="two-clocks",
        send=False,
        params={"steps": 24, "step_s": 0.4, "slow_step": 2, "slow_s": 3 * LEASE_S},
    )
    a = Worker("A", ["run", str(job.pk)])
    b = Worker("B", ["reap", "60"], skew=20)  # its clock is 20 s ahead of A's and the database's
    try:
        # A holds the job; through its slow step (three leases long, no checkpoint) only its
        # heartbeat renews the lease, and B, whose clock says the lease passed long ago, leaves it.
        wait_for(lambda: Job.objects.get(pk=job.pk).result.get("step") == 1, 60, "A's first steps")
        time.sleep(LEASE_S * 2)
        live = Job.objects.get(pk=job.pk)
        seconds_left = (live.lease_until - db_now()).total_seconds()
        assert 0 < seconds_left <= LEASE_S + 0.5, seconds_left
        wait_for(
            lambda: Job.objects.get(pk=job.pk).result.get("step", 0) >= 4,
            60,
            "A after its slow step",
        )
        assert live.status == "running" and live.attempt_rows.count() == 1
        # A stalls (SIGSTOP: no heartbeat, no writes); B takes the job up within lease + tick.
        a.proc.send_signal(signal.SIGSTOP)
        stopped_at = time.time()
        wait_for(
            lambda: Job.objects.get(pk=job.pk).attempt_rows.count() == 2, LEASE_S + 10, "B's claim"
        )
        taken = Job.objects.get(pk=job.pk).attempt_rows.get(number=2)
        # Leases follow the database's clock even in B, whose clock is 20 s ahead.
        current = Job.objects.get(pk=job.pk)
        assert (current.lease_until - db_now()).total_seconds() <= LEASE_S + 0.5
        wait_for(lambda: Job.objects.get(pk=job.pk).status == "succeeded", 60, "B to finish")
        # A wakes up and tries to go on: the fence refuses its write.
        a.proc.send_signal(signal.SIGCONT)
        a.proc.wait(30)
    finally:
        a.stop()
        b.stop()
        print("A:", a.output(), "B:", b.output(), sep="\n")
    job.refresh_from_db()
    first, second = job.attempt_rows.order_by("number")
    assert first.outcome == "worker_lost" and first.error_class == "WorkerLost"
    assert second.outcome == "succeeded" and second.worker != first.worker
    recovered_after = taken.started_at.timestamp() - stopped_at
    assert recovered_after <= LEASE_S + HEARTBEAT_S + TICK_S + 2, recovered_after
    refused = [e for e in a.events() if e["event"] == "refused"]
    assert refused and a.events()[-1] == {**a.events()[-1], "event": "end", "status": None}
    # Nothing A did after it lost the lease reached the job: B's steps follow A's, each once.
    trail = job.result["trail"]
    assert job.result["writer"] == "B" and job.result["finished_by"] == "B"
    assert trail == ["A"] * trail.count("A") + ["B"] * trail.count("B")
    assert len(trail) == 24 and "A" not in trail[trail.index("B") :]
