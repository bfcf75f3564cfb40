"""Catalog *Run action* calls recorded as "action" jobs: who ran what, the status and trace id.

The admin sends a real run inline (a deliberate, bounded call) between :func:`action_job_start`
and :func:`action_job_finish`, so its sync-log rows name the job. A failed one can be re-run from
the jobs admin: :func:`action_job_run` sends the recorded call again — unless its body held
secret-named fields, which are never stored.

A create that is not safe to send twice and whose answer was lost (``GhlOutcomeUnknown``) is not
failed: the job is queued with ``outcome_unknown`` and, when it runs, looks the record up by its
natural key and adopts it, creating only when the look-up proves absence (``creates.create_once``).
"""

import uuid
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from integrations.catalog.adopt import ADOPT
from integrations.catalog.connections import ConnectionInfo
from integrations.ghl.errors import GhlOutcomeUnknown
from integrations.ghl.uploads import uploads_described
from integrations.sync.creates import create_once
from integrations.sync.jobs import job_retry_later
from integrations.sync.models import Job
from integrations.sync.secrets import connection_secrets_get
from integrations.sync.targets import EventError
from portal.models import Location
from portal.redact import value_redact


def action_job_start(
    *,
    connection: ConnectionInfo,
    operation_key: str,
    params: Mapping[str, Any] | None,
    body: Any,
    user_id: int | None = None,
) -> Job:
    """A running "action" job for a call about to be sent on ``connection`` (a ConnectionInfo)."""
    secrets = connection_secrets_get(connection_id=connection.id)
    described = uploads_described(body)  # files are kept as name, size and type only
    stored_body = value_redact(described, secrets=secrets) if body is not None else None
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
            "secrets_left_out": stored_body != described,
        },
        idempotency_key=f"action:{uuid.uuid4().hex}",
        attempts=1,
        max_attempts=1,
        started_at=now,
        created_by_id=user_id,
    )


def action_job_finish(
    *,
    job: Job,
    status: int | None = None,
    trace_id: str = "",
    error_class: str = "",
    error_message: str = "",
) -> Job:
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


def action_job_outcome_unknown(*, job: Job, error: GhlOutcomeUnknown) -> str:
    """The answer to a create was lost: queue the job to look it up (or say a person must check).

    Returns the message for the person who ran it.
    """
    adopt = ADOPT.get(job.operation)
    Job.objects.filter(pk=job.pk).update(result={"outcome_unknown": True})
    if adopt is None:
        action_job_finish(
            job=job,
            status=error.status,
            trace_id=error.trace_id or "",
            error_class=error.__class__.__name__,
            error_message=str(error),
        )
        Job.objects.filter(pk=job.pk).update(result={"outcome_unknown": True})
        return (
            f"HighLevel's answer was lost, so it is unknown whether {job.operation} was done. "
            "It is not sent again automatically: check in HighLevel before running it again."
        )
    job_retry_later(job_id=job.pk, error=error, delay_s=0)
    if job.params.get("secrets_left_out"):
        return (
            f"HighLevel's answer was lost, so it is unknown whether {job.operation} was done. "
            f"Job #{job.pk} looks it up by {adopt.natural_key}; if it is not there, run it "
            "again here (its secret fields are not stored, so the job cannot send it)."
        )
    return (
        f"HighLevel's answer was lost, so it is unknown whether {job.operation} was done. "
        f"Job #{job.pk} looks it up by {adopt.natural_key} and creates it only if it is "
        "not there: see the job for the outcome."
    )


def _secret_action_resolve(job: Job) -> dict[str, Any]:
    """A call whose secret fields were not stored cannot be sent again; a lost create of one is
    still looked up (and adopted when found), so a person re-runs it only if it is absent."""
    adopt = ADOPT.get(job.operation)
    if adopt is None or not job.result.get("outcome_unknown"):
        raise EventError(
            "This action's body held secret fields, which are not stored: run it again from the "
            "catalog's Run action form."
        )
    if job.connection_id is None:
        raise EventError("The action's connection no longer exists.")
    found = adopt.find(connection_id=job.connection_id, body=job.params.get("body"), job_id=job.pk)
    if found is None:
        Job.objects.filter(pk=job.pk).update(result={**job.result, "outcome_unknown": False})
        raise EventError(
            f"It is not in HighLevel (looked up by {adopt.natural_key}), and its body held secret "
            "fields, which are not stored: run it again from the catalog's Run action form."
        )
    return {"adopted": True, "ghl_id": found.get("id"), "outcome_unknown": False}


def action_job_run(job: Job) -> dict[str, Any]:
    """JOB_HANDLERS "action": send the recorded call again (a re-run from the jobs admin)."""
    if job.params.get("secrets_left_out"):
        return _secret_action_resolve(job)
    if job.connection_id is None:
        raise EventError("The action's connection no longer exists.")
    created = create_once(
        job=job,
        connection_id=job.connection_id,
        operation_id=job.operation,
        params=job.params.get("params") or None,
        body=job.params.get("body"),
    )
    if created.adopted:
        return {"adopted": True, "ghl_id": created.ghl_id}
    answer = {"status": created.status, "trace_id": created.trace_id}
    return {**answer, "ghl_id": created.ghl_id} if created.ghl_id else answer
