from datetime import datetime

from integrations.ghl.models import SyncLog

BATCH = 5000


def sync_logs_prune(*, before: datetime) -> int:
    """Delete entries older than ``before`` in batches (short locks on a big table)."""
    total = 0
    while True:
        ids = list(SyncLog.objects.filter(at__lt=before).values_list("id", flat=True)[:BATCH])
        if not ids:
            return total
        total += SyncLog.objects.filter(id__in=ids).delete()[0]
