"""A Rankr record's sync history: the writes that changed it, the jobs and the HighLevel calls."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from integrations.ghl.models import SyncLog
from integrations.sync.models import Job
from mappings.entities import FETCH
from mappings.models import MappingVersion
from rankr.models import RecordChange

LIMIT = 50


@dataclass
class RecordHistory:
    changes: list[RecordChange]  # newest first, each with .mapping_version (or None)
    jobs: list[Job]  # the jobs that wrote it or were about it
    logs: list[SyncLog]  # HighLevel calls of the jobs about it (empty without the permission)
    resyncable: bool  # HighLevel can be asked for this kind of record by id


def record_history_get(*, record: Any, user: Any) -> RecordHistory:
    kind, ghl_id = record.KIND, record.ghl_id
    if not ghl_id:
        return RecordHistory(changes=[], jobs=[], logs=[], resyncable=False)
    changes = list(
        RecordChange.objects.filter(location_id=record.location_id, kind=kind, ghl_id=ghl_id)[
            :LIMIT
        ]
    )
    versions = MappingVersion.objects.select_related("mapping").in_bulk(
        {c.mapping_version_id for c in changes if c.mapping_version_id}
    )
    for change in changes:
        change.mapping_version = versions.get(change.mapping_version_id)  # type: ignore[attr-defined]  # shown by the page
    job_ids = {c.job_id for c in changes if c.job_id}
    jobs = list(
        Job.objects.filter(
            Q(pk__in=job_ids) | Q(location_id=record.location_id, subject=ghl_id)
        ).order_by("-queued_at", "-id")[:LIMIT]
    )
    logs = []
    if user.has_perm("integrations.view_synclog"):
        about = [j.pk for j in jobs if j.subject == ghl_id]  # poll pages are not about one record
        logs = list(SyncLog.objects.filter(job_id__in=about)[:LIMIT]) if about else []
    return RecordHistory(changes=changes, jobs=jobs, logs=logs, resyncable=kind in FETCH)
