"""Quarantine: HighLevel records Rankr could not store, set aside so the rest proceeds.

A record that cannot be stored (a value too long or of a type its rule cannot convert — checked
before the database, :mod:`mappings.limits` — or a database constraint) is recorded here with the
rule, field, value and reason, by :func:`mappings.services.mapping_page_apply`; the page, the run
and the checkpoint go on. It is applied again (with the mapping's latest version, from the record
kept here, without asking HighLevel) automatically when its mapping changes
(:func:`quarantine_retry_enqueue` from ``mapping_save``) or on demand (the admin's *Retry now*).
A later version of the record that fits resolves it too.

Services other code calls: ``quarantine_add``, ``quarantine_resolve``,
``quarantine_retry_enqueue``; the retry itself is ``mappings.services.quarantine_retry`` (it applies
records, which is the services' work).
"""

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from mappings.models import QuarantinedRecord
from portal.bulk import rows_select

VALUE_LIMIT = 1000


def _text(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else repr(value)
    return text[:VALUE_LIMIT]


def quarantine_add(
    *,
    mapping_version: Any,
    location_id: int,
    ghl_id: str,
    record: Any,
    reason: str,
    rule_number: int | None = None,
    field: str = "",
    value: object = None,
    event_time: object = None,
    source: str = "",
    job_id: int | None = None,
) -> QuarantinedRecord:
    """Set one record aside (or update the entry it already has). Returns the entry."""
    values = {
        "mapping_id": mapping_version.mapping_id,
        "mapping_version_number": mapping_version.number,
        "rule_number": rule_number or None,
        "field": (field or "")[:100],
        "value": _text(value),
        "reason": reason[:4000],
        "record": record,
        "event_time": str(event_time or "")[:40],
        "source": (source or "")[:16],
        "job_id": job_id,
        "resolved_at": None,
    }
    key = {"location_id": location_id, "entity": mapping_version.entity, "ghl_id": ghl_id[:64]}
    updated = QuarantinedRecord.objects.filter(**key).update(
        **values, attempts=F("attempts") + 1, last_tried_at=timezone.now()
    )
    if not updated:
        with transaction.atomic():
            QuarantinedRecord.objects.get_or_create(**key, defaults=values)
    return QuarantinedRecord.objects.get(**key)


def quarantine_resolve(*, location_id: int, entity: str, ghl_ids: Iterable[str]) -> int:
    """Mark the set-aside versions of these records arrived (a version of them was stored)."""
    ghl_ids = list(ghl_ids)
    if not ghl_ids:
        return 0
    # Most pages have nothing set aside: one cheap read (no query compiled) finds that out.
    waiting = rows_select(
        model=QuarantinedRecord,
        fields=("id",),
        where={"location_id": location_id, "entity": entity, "resolved_at": None},
        among=("ghl_id", ghl_ids),
    )
    if not waiting:
        return 0
    return QuarantinedRecord.objects.filter(
        pk__in=[row[0] for row in waiting], resolved_at__isnull=True
    ).update(resolved_at=timezone.now())


def quarantine_retry_enqueue(
    *, mapping_id: int | None = None, quarantine_ids: Iterable[int] | None = None
) -> None:
    """Retry in the worker, after the caller's transaction commits (mapping save, admin action)."""
    from django_q.tasks import async_task

    def send() -> None:
        async_task(
            "integrations.interfaces.tasks.quarantine_retry_task",
            mapping_id,
            list(quarantine_ids or []) or None,
            group="quarantine",
        )

    transaction.on_commit(send)
