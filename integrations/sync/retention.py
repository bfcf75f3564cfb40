"""Retention for job records: finished jobs older than a cut-off go, in short batches.

Queued and running jobs are never pruned, whatever their age. Sync log retention is
:func:`integrations.sync.synclog.sync_logs_prune`.
"""

from datetime import datetime

from integrations.sync.models import Job

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
        total += Job.objects.filter(id__in=ids).delete()[0]
