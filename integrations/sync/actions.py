"""Catalog *Run action* calls recorded as "action" jobs: who ran what, the status and trace id.

The admin sends a real run inline (a deliberate, bounded call) between :func:`action_job_start`
and :func:`action_job_finish`, so its sync-log rows name the job. A failed one can be re-run from
the jobs admin: :func:`action_job_run` sends the recorded call again — unless its body held
secret-named fields, which are never stored.
"""

import uuid

from django.utils import timezone

from integrations.catalog.services import operation_run
from integrations.sync.models import Job
from integrations.sync.secrets import connection_secrets_get
from integrations.sync.targets import EventError
from portal.models import Location
from portal.redact import value_redact


def action_job_start(*, connection, operation_key, params, body, user_id=None) -> Job:
    """A running "action" job for a call about to be sent on ``connection`` (a ConnectionInfo)."""
    secrets = connection_secrets_get(connection_id=connection.id)
    stored_body = value_redact(body, secrets=secrets) if body is not None else None
    location = None
    if connection.location_id:
        location = Location.objects.filter(location_id=connection.location_id).first()
    now = timezone.now()
    return Job.objects.create(
        kind=Job.Kind.ACTION,
        status=Job.Status.RUNNING,
        location=location,
        connection_id=connection.id,
        operation=operation_key,
        params={
            "params": value_redact(params or {}, secrets=secrets),
            "body": stored_body,
            "secrets_left_out": stored_body != body,
        },
        idempotency_key=f"action:{uuid.uuid4().hex}",
        attempts=1,
        max_attempts=1,
        started_at=now,
        created_by_id=user_id,
    )


def action_job_finish(*, job, status=None, trace_id="", error_class="", error_message=""):
    """Record the outcome: succeeded with the answer's status, or failed with HighLevel's error."""
    result = {"status": status, "trace_id": trace_id}
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.FAILED if error_class else Job.Status.SUCCEEDED,
        result=result,
        finished_at=timezone.now(),
        error_class=error_class[:100],
        error_message=error_message[:2000],
    )
    job.refresh_from_db()
    return job


def action_job_run(job: Job) -> dict:
    """JOB_HANDLERS "action": send the recorded call again (a re-run from the jobs admin)."""
    if job.params.get("secrets_left_out"):
        raise EventError(
            "This action's body held secret fields, which are not stored: run it again from the "
            "catalog's Run action form."
        )
    if job.connection_id is None:
        raise EventError("The action's connection no longer exists.")
    response = operation_run(
        connection_id=job.connection_id, operation_id=job.operation,
        params=job.params.get("params") or None, body=job.params.get("body"), job_id=job.pk,
    )
    return {"status": response.status, "trace_id": response.trace_id}
