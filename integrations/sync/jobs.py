"""Jobs: enqueue, claim, run, retry, re-run.

Every poll, backfill, action, webhook, resync and Rankr event runs as a :class:`Job`. Our own policy
decides what is retried: a transient HighLevel error (429, 5xx, network) puts the job back in the
queue after a backoff; a permanent one (404, 422, missing scope, needs re-auth) fails it; running
out of attempts makes it dead. django-q2 only carries job ids; its redelivery is a safety net.

Handlers live in the code that owns the work and are listed in ``JOB_HANDLERS`` (kind -> dotted
path), one explicit table. A handler gets the claimed job, may record progress with
:func:`job_checkpoint` (so a re-run knows what already reached HighLevel), and returns its result.
"""

import logging
import random
import traceback
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from integrations.sync.alerts import alert_raise
from integrations.sync.models import Job
from portal.errors import PortalError, error_permanent, error_retry_after
from portal.models import AlertCause, AuditEvent
from portal.redact import connection_secrets, text_mask
from rankr.history import record_history_context

logger = logging.getLogger(__name__)

JobHandler = Callable[[Job], dict[str, Any] | None]

JOB_HANDLERS: dict[str, str] = {
    # kind: "module.function(job) -> dict"
    "poll": "integrations.sync.subscriptions.run.subscription_job_handle",
    "backfill": "integrations.sync.subscriptions.run.subscription_job_handle",
    "webhook": "integrations.sync.webhook_events.webhook_job_run",
    "resync": "integrations.sync.resync.resync_job_run",
    "rankr_event": "integrations.sync.outbound.rankr_event_job_run",
    "action": "integrations.sync.actions.action_job_run",
}

RETRY_BASE_SECONDS = 30
RETRY_CAP_SECONDS = 3600


class JobError(PortalError):
    pass


def job_enqueue(*, kind: str, idempotency_key: str, location_id: int | None = None,
                connection_id: int | None = None, operation: str = "", subject: str = "",
                params: dict[str, Any] | None = None, user_id: int | None = None,
                max_attempts: int = 5, mapping_version_id: int | None = None) -> Job:
    """Create the job for ``idempotency_key`` (once) and hand it to the worker after commit.

    Asking again with the same key returns the existing job and enqueues nothing new.
    """
    if kind not in Job.Kind.values:
        raise JobError(f"Unknown job kind {kind!r}.")
    max_attempts = min(max_attempts, settings.JOB_MAX_ATTEMPTS)
    job, created = Job.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults=dict(
            kind=kind, location_id=location_id, connection_id=connection_id, operation=operation,
            subject=subject, params=params or {}, created_by_id=user_id,
            max_attempts=max_attempts, mapping_version_id=mapping_version_id,
        ),
    )
    if created and not _job_refused_for_reauth(job):
        _send_after_commit(job.pk)
    return job


def _job_refused_for_reauth(job: Job) -> bool:
    """A job for a connection that needs re-auth fails at once, saying so (nothing is sent)."""
    if job.connection_id is None:
        return False
    from integrations.ghl.models import Connection
    from integrations.sync.connections import connection_reauth_message

    connection = Connection.objects.select_related("app", "agency", "location").get(pk=job.connection_id)
    if connection.status != Connection.Status.NEEDS_REAUTH:
        return False
    job.status = Job.Status.FAILED
    job.finished_at = timezone.now()
    job.error_class = "GhlReauthRequired"
    job.error_message = connection_reauth_message(connection=connection)
    job.save(update_fields=["status", "finished_at", "error_class", "error_message"])
    return True


def _send_after_commit(job_id: int) -> None:
    transaction.on_commit(lambda: _send(job_id))


def _send(job_id: int) -> None:
    from django_q.tasks import async_task

    async_task("integrations.interfaces.tasks.job_run_task", job_id, group="jobs")


def job_claim(*, job_id: int, now: datetime | None = None) -> bool:
    """Mark a queued job running, atomically: True for exactly one caller."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.Q_CLUSTER["timeout"])
    return (
        Job.objects.filter(pk=job_id, status=Job.Status.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            status=Job.Status.RUNNING, started_at=now, finished_at=None, lease_until=lease,
            attempts=F("attempts") + 1,
        )
        == 1
    )


def job_checkpoint(*, job: Job, result: dict[str, Any]) -> None:
    """Persist what the job has achieved so far, right away (outside any page transaction)."""
    job.result = {**job.result, **result}
    Job.objects.filter(pk=job.pk).update(result=job.result)


def job_run(*, job_id: int) -> str | None:
    """Claim and run one job through its handler; record the outcome on the job."""
    if not job_claim(job_id=job_id):
        return None
    job = Job.objects.select_related("connection", "location").get(pk=job_id)
    handler_path = JOB_HANDLERS.get(job.kind)
    try:
        if handler_path is None:
            raise JobError(f"No handler for {job.kind} jobs.")
        handler: JobHandler = import_string(handler_path)
        with record_history_context(job_id=job.pk):  # records it writes name this job
            result = handler(job)
    except Exception as exc:  # noqa: BLE001 (every failure is recorded on the job; see below)
        # The error says whether to retry and when (portal.errors); one without a word is a bug
        # or bad data: recorded on the job for support, not retried.
        if not hasattr(exc, "permanent"):
            secrets = connection_secrets(job.connection) if job.connection_id else ()
            trace = "".join(traceback.format_exception(exc))
            logger.error("job %s failed\n%s", job.pk, text_mask(trace, secrets=secrets))
        return _job_record_failure(job, exc, transient=not error_permanent(exc),
                                   retry_after=error_retry_after(exc))
    if result:
        job.result = {**job.result, **result}
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.SUCCEEDED, result=job.result, finished_at=timezone.now(),
        lease_until=None, error_class="", error_message="",
    )
    return Job.Status.SUCCEEDED


def job_backoff(*, attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: Retry-After when given, else full-jitter exponential."""
    if retry_after:
        return float(retry_after)
    ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


def _job_record_failure(job: Job, exc: Exception, *, transient: bool,
                        retry_after: float | None = None) -> str:
    now = timezone.now()
    secrets = connection_secrets(job.connection) if job.connection_id else ()
    fields: dict[str, Any] = dict(
        error_class=exc.__class__.__name__, error_message=text_mask(str(exc), secrets=secrets)[:2000],
        lease_until=None,
    )
    if transient and job.attempts < job.max_attempts:
        delay = job_backoff(attempts=job.attempts, retry_after=retry_after)
        status = Job.Status.QUEUED
        fields.update(next_attempt_at=now + timedelta(seconds=delay))
    else:
        status = Job.Status.DEAD if transient else Job.Status.FAILED
        fields.update(finished_at=now)
    Job.objects.filter(pk=job.pk).update(status=status, **fields)
    if status == Job.Status.DEAD and job.location_id:
        alert_raise(cause=AlertCause.JOB_DEAD, location_id=job.location_id,
                    detail={"job_id": job.pk, "message": f"{job.get_kind_display()} job #{job.pk}: "
                            f"{fields['error_message'][:200]}"})
    return status


def job_retry_later(*, job_id: int, error: Exception, delay_s: float = 0.0) -> None:
    """Put a job (e.g. a Run action whose answer was lost) back in the queue to try again itself.

    Its attempts start over (up to ``JOB_MAX_ATTEMPTS``); the error stays on it until it runs.
    """
    now = timezone.now()
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.QUEUED, attempts=0, max_attempts=settings.JOB_MAX_ATTEMPTS,
        next_attempt_at=now + timedelta(seconds=delay_s), finished_at=None, lease_until=None,
        error_class=error.__class__.__name__[:100], error_message=str(error)[:2000],
    )
    _send_after_commit(job_id)


def job_rerun(*, job_ids: Iterable[int], user_id: int | None) -> int:
    """Queue failed or dead jobs again, same rows and idempotency keys. Returns how many."""
    count = 0
    with transaction.atomic():
        jobs = list(
            Job.objects.select_for_update()
            .filter(pk__in=job_ids, status__in=[Job.Status.FAILED, Job.Status.DEAD])
        )
        for job in jobs:
            Job.objects.filter(pk=job.pk).update(
                status=Job.Status.QUEUED, attempts=0, reruns=F("reruns") + 1, next_attempt_at=None,
                finished_at=None, error_class="", error_message="",
            )
            AuditEvent.objects.create(
                actor_id=user_id, action="job.rerun", location_id=job.location_id,
                target=f"job {job.pk}", detail={"kind": job.kind, "previous_status": job.status},
            )
            _send_after_commit(job.pk)
            count += 1
    return count


def jobs_dispatch_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send due retries to the worker and recover jobs whose worker died (lease passed).

    Runs from the scheduler tick. A job sent twice is harmless: only one claim succeeds.
    """
    now = now or timezone.now()
    Job.objects.filter(status=Job.Status.RUNNING, lease_until__lt=now).update(
        status=Job.Status.QUEUED, next_attempt_at=now, lease_until=None
    )
    stale = now - timedelta(minutes=2)
    due = list(
        Job.objects.filter(status=Job.Status.QUEUED)
        .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, queued_at__lt=stale))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for job_id in due:
        _send(job_id)
    return len(due)
