"""Retention: rows older than a cut-off go, in short batches (and, on PostgreSQL, whole days at once).

Each table has its setting in days (0 = forever): ``SYNC_LOG_RETENTION_DAYS``,
``JOB_RETENTION_DAYS``, ``JOB_ATTEMPT_RETENTION_DAYS``, ``WEBHOOK_EVENT_RETENTION_DAYS`` and
``AUDIT_EVENT_RETENTION_DAYS``. The scheduler tick runs :func:`retention_run_due` at most hourly.
Queued and running jobs, their attempts, and webhook events still waiting to be processed are
never pruned, whatever their age. On PostgreSQL the sync log, job attempts and webhook events are
partitioned by day (:mod:`integrations.sync.partitions`): a day wholly past the cut-off is one
dropped partition; the rows of the day the cut-off falls in are deleted row by row.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Model, QuerySet
from django.utils import timezone

from integrations.ghl.models import SyncLog
from integrations.sync.models import Job, JobAttempt, WebhookEvent
from integrations.sync.partitions import partitions_ensure, partitions_expired_drop
from integrations.sync.synclog import sync_logs_prune
from portal.models import AuditEvent

BATCH = 5000
FINISHED = (Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.DEAD, Job.Status.SKIPPED)
ACTIVE = (Job.Status.QUEUED, Job.Status.RUNNING)


def _batches_delete(
    model: type[Model], old: "QuerySet[Any]", *, batch: int, max_batches: int | None
) -> int:
    """Delete the rows of ``old`` ``batch`` at a time (short locks on a big table); at most
    ``max_batches`` batches when given. Returns how many rows of ``model`` went."""
    total = 0
    done = 0
    while max_batches is None or done < max_batches:
        ids = list(old.order_by().values_list("id", flat=True)[:batch])
        if not ids:
            break
        total += old.filter(id__in=ids).delete()[1].get(model._meta.label, 0)
        done += 1
    return total


def jobs_prune(*, before: datetime, batch: int = BATCH, max_batches: int | None = None) -> int:
    """Delete finished jobs (and their attempts) that finished before ``before``; returns how many
    jobs. Queued and running jobs stay whatever their age."""
    # queued_at <= finished_at, so the queued_at bound lets the job_recent index find candidates.
    old = Job.objects.filter(queued_at__lt=before, finished_at__lt=before, status__in=FINISHED)
    return _batches_delete(Job, old, batch=batch, max_batches=max_batches)


_ATTEMPT_KEEP = (
    "job_id IN (SELECT id FROM integrations_job WHERE status IN ("  # noqa: S608 (quoted names; values are parameters)
    + ", ".join(f"'{status.value}'" for status in ACTIVE)
    + "))"
)


def job_attempts_prune(
    *, before: datetime, batch: int = BATCH, max_batches: int | None = None
) -> int:
    """Delete job attempts started before ``before``, except those of queued or running jobs
    (a job kept keeps the attempts it is still retrying on). Returns how many went."""
    dropped = partitions_expired_drop(
        table=JobAttempt._meta.db_table, before=before, keep=_ATTEMPT_KEEP
    )
    old = JobAttempt.objects.filter(started_at__lt=before).exclude(job__status__in=ACTIVE)
    return dropped + _batches_delete(JobAttempt, old, batch=batch, max_batches=max_batches)


def webhook_events_prune(
    *, before: datetime, batch: int = BATCH, max_batches: int | None = None
) -> int:
    """Delete webhook events received before ``before``, except those still waiting to be processed."""
    dropped = partitions_expired_drop(
        table=WebhookEvent._meta.db_table,
        before=before,
        keep=f"status = '{WebhookEvent.Status.RECEIVED.value}'",
    )
    old = WebhookEvent.objects.filter(received_at__lt=before).exclude(
        status=WebhookEvent.Status.RECEIVED
    )
    return dropped + _batches_delete(WebhookEvent, old, batch=batch, max_batches=max_batches)


def audit_events_prune(
    *, before: datetime, batch: int = BATCH, max_batches: int | None = None
) -> int:
    """Delete audit events older than ``before`` (the audit trail's retention is the longest)."""
    old = AuditEvent.objects.filter(at__lt=before)
    return _batches_delete(AuditEvent, old, batch=batch, max_batches=max_batches)


def _more(name: str, before: datetime) -> bool:
    """Whether rows past the cut-off remain after a bounded run (one indexed look)."""
    left: dict[str, QuerySet[Any]] = {
        "sync_logs": SyncLog.objects.filter(at__lt=before),
        "jobs": Job.objects.filter(
            queued_at__lt=before, finished_at__lt=before, status__in=FINISHED
        ),
        "job_attempts": JobAttempt.objects.filter(started_at__lt=before).exclude(
            job__status__in=ACTIVE
        ),
        "webhook_events": WebhookEvent.objects.filter(received_at__lt=before).exclude(
            status=WebhookEvent.Status.RECEIVED
        ),
        "audit_events": AuditEvent.objects.filter(at__lt=before),
    }
    return left[name].exists()


RETENTION_GATE = "integrations:retention-ran"


@dataclass
class RetentionRun:
    """What one retention run removed, by table, and whether rows past their cut-off remain."""

    deleted: dict[str, int] = field(default_factory=dict)
    partitions_created: int = 0
    more: bool = False


def retention_run(*, now: datetime | None = None, max_batches: int | None = None) -> RetentionRun:
    """Create the day partitions ahead, then prune every table past its retention setting."""
    now = now or timezone.now()
    run = RetentionRun(partitions_created=partitions_ensure())
    pruners = (
        ("sync_logs", settings.SYNC_LOG_RETENTION_DAYS, sync_logs_prune),
        ("jobs", settings.JOB_RETENTION_DAYS, jobs_prune),
        ("job_attempts", settings.JOB_ATTEMPT_RETENTION_DAYS, job_attempts_prune),
        ("webhook_events", settings.WEBHOOK_EVENT_RETENTION_DAYS, webhook_events_prune),
        ("audit_events", settings.AUDIT_EVENT_RETENTION_DAYS, audit_events_prune),
    )
    for name, days, prune in pruners:
        if not days:
            continue
        deleted = prune(before=now - timedelta(days=days), max_batches=max_batches)
        run.deleted[name] = deleted
        if max_batches is not None and _more(name, now - timedelta(days=days)):
            run.more = True
    return run


def retention_run_due(*, now: datetime | None = None) -> RetentionRun | None:
    """From the scheduler tick, at most hourly: :func:`retention_run` with a bounded amount of
    work; when rows past their cut-off remain, the next tick goes on. None when not due."""
    if not cache.add(RETENTION_GATE, 1, timeout=3600):
        return None
    run = retention_run(now=now, max_batches=settings.RETENTION_MAX_BATCHES)
    if run.more:
        cache.delete(RETENTION_GATE)
    return run
