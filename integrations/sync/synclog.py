from datetime import datetime

from integrations.ghl.models import SyncLog
from integrations.sync.partitions import partitions_expired_drop

BATCH = 5000


def sync_logs_prune(*, before: datetime, max_batches: int | None = None) -> int:
    """Delete entries older than ``before``: on PostgreSQL whole days by dropping their
    partitions, the rest in batches (short locks on a big table), at most ``max_batches`` when
    given. Returns how many entries went."""
    total = partitions_expired_drop(table=SyncLog._meta.db_table, before=before)
    done = 0
    while max_batches is None or done < max_batches:
        ids = list(SyncLog.objects.filter(at__lt=before).values_list("id", flat=True)[:BATCH])
        if not ids:
            return total
        total += SyncLog.objects.filter(id__in=ids, at__lt=before).delete()[0]
        done += 1
    return total
