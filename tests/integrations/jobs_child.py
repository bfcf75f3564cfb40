"""A worker process for lease tests: runs jobs with the real services against the test database.

``python jobs_child.py run JOB_ID``  runs one job (the ``stepping_handler`` below);
``python jobs_child.py reap SECONDS`` is a second worker: each half second it runs the tick
(recovery included) and then any job the tick queued again, for ``SECONDS``.
``SKEW_S`` in the environment moves this process's clock (``timezone.now``) by that many seconds.
Each event is printed as one JSON line.
"""

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def say(**event):
    print(
        json.dumps({"worker": os.environ.get("WORKER_NAME", "?"), "at": time.time(), **event}),
        flush=True,
    )


def stepping_handler(job):
    """Checkpoints one step at a time (resuming after the last one recorded); worker A sleeps
    long, without checkpointing, at ``slow_step``: only its heartbeat keeps its lease then."""
    from integrations.sync.jobs import LeaseLost, job_checkpoint

    name = os.environ["WORKER_NAME"]
    params = job.params
    for step in range(job.result.get("step", -1) + 1, params["steps"]):
        if name == "A" and step == params.get("slow_step"):
            say(event="slow", step=step)
            time.sleep(params["slow_s"])
        try:
            job_checkpoint(
                job=job,
                result={
                    "step": step,
                    "writer": name,
                    "trail": [*job.result.get("trail", []), name],
                },
            )
        except LeaseLost:
            say(event="refused", step=step)
            raise
        say(event="step", step=step)
        time.sleep(params["step_s"])
    return {"finished_by": name}


def main(mode, arg):
    import django

    sys.path.insert(0, str(ROOT))
    skew = float(os.environ.get("SKEW_S", "0"))
    django.setup()
    if skew:
        from django.utils import timezone

        real_now = timezone.now
        timezone.now = lambda: real_now() + timedelta(seconds=skew)
    from integrations.models import Job
    from integrations.sync import job_runs
    from integrations.sync.jobs import job_run, jobs_dispatch_due

    job_runs.JOB_HANDLERS["action"] = "tests.integrations.jobs_child.stepping_handler"
    if mode == "run":
        say(event="start")
        say(event="end", status=job_run(job_id=int(arg)))
        return
    deadline = time.monotonic() + float(arg)
    while time.monotonic() < deadline:
        jobs_dispatch_due()
        # Only jobs another worker ran before (the ones the tick took up again), not new ones.
        for job_id in Job.objects.filter(status=Job.Status.QUEUED, attempts__gt=0).values_list(
            "pk", flat=True
        ):
            status = job_run(job_id=job_id)
            if status:
                say(event="ran", job=job_id, status=status)
        time.sleep(0.5)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
