"""Retention for job records and webhook events: rows older than a cut-off go, in short batches.

Queued and running jobs are never pruned, whatever their age. Sync log retention is
:func:`integrations.sync.synclog.sync_logs_prune`.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from integrations.sync.models import Job, WebhookEvent

BATCH = 5000
FINISHED = (Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.DEAD)


def jobs_prune(*, before: datetime, batch: int = BATCH) -> int:
    """Delete finished jobs that finished before ``before``; returns how many."""
    total = 0
    # queued_at <= finished_at, so the queued_at bound lets the job_recent index find candidates.
    old = Job.objects.filter(queued_at__lt=before, finished_at__lt=before, status__in=FINISHED)
    while True:
        ids = list(old.order_by().values_list("id", flat=True)[:batch])
        if not ids:
            return total
        total += Job.objects.filter(id__in=ids).delete()[1].get(Job._meta.label, 0)


def webhook_events_prune(*, before: datetime, batch: int = BATCH) -> int:
    """Delete webhook events received before ``before``, except those still waiting to be processed."""
    total = 0
    old = WebhookEvent.objects.filter(received_at__lt=before).exclude(
        status=WebhookEvent.Status.RECEIVED
    )
    while True:
        ids = list(old.order_by().values_list("id", flat=True)[:batch])
        if not ids:
            return total
        total += (
            WebhookEvent.objects.filter(id__in=ids).delete()[1].get(WebhookEvent._meta.label, 0)
        )


RETENTION_GATE = "integrations:retention-ran"


def retention_run_due(*, now: datetime | None = None) -> int | None:
    """From the scheduler tick, at most hourly: prune webhook events past WEBHOOK_EVENT_RETENTION_DAYS.

    Returns how many went, or None when it was not due (or retention is off).
    """
    days = settings.WEBHOOK_EVENT_RETENTION_DAYS
    if not days or not cache.add(RETENTION_GATE, 1, timeout=3600):
        return None
    now = now or timezone.now()
    return webhook_events_prune(before=now - timedelta(days=days))
