"""The personal data stores: every table that may hold a person's data, and how it is scrubbed.

``STORES`` is the registry. Each :class:`Store` is a function that scrubs one table of a
:class:`~integrations.sync.erasure.person.Person` and returns how many rows it changed. Most
tables need only :func:`column_store`: name the model and its text or JSON columns, and the
rows of the person's location (or of none) that mention the person are masked. A new table
that keeps people's data is one more line here (tests/integrations/test_erasure.py lists every
table that holds none, so a new one fails there until it is classified).

``by_record``: the store finds rows by the person's record ids (cheap), so the scheduler's
grace-period erasure of deleted records runs it too; the others search text and run only on a
request.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from integrations.ghl.models import Connection, SyncLog
from integrations.sync.erasure.person import ERASED, Person, value_present
from integrations.sync.models import Job, JobAttempt, Subscription, WebhookEvent
from mappings.models import QuarantinedRecord
from mappings.template_models import SourcePayload
from portal.models import AuditEvent
from rankr.models import RECORD_MODELS, RecordChange

Scrub = Callable[[Person], int]
Scope = Callable[[Person], Q]
CHUNK = 500


@dataclass(frozen=True)
class Store:
    name: str
    label: str
    scrub: Scrub
    by_record: bool = False


def _blank(model: type[models.Model], name: str) -> Any:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is a relation, not a personal field.")
    return field.get_default()


def records_scrub(person: Person) -> int:
    """The person's Rankr records and those under them: personal fields emptied, rows kept."""
    total = 0
    for kind, pks in person.record_pks.items():
        model = RECORD_MODELS[kind]
        if pks and model.PERSONAL_FIELDS:
            blank = {name: _blank(model, name) for name in model.PERSONAL_FIELDS}
            total += model.objects.filter(pk__in=pks).update(**blank, updated_at=timezone.now())
    return total


def record_history_scrub(person: Person) -> int:
    """The sync's history of those records: personal fields' before and after, and any mention."""
    total = 0
    for kind, ids in person.ghl_ids.items():
        personal = set(RECORD_MODELS[kind].PERSONAL_FIELDS)
        rows = RecordChange.objects.filter(
            location_id=person.location_id, kind=kind, ghl_id__in=ids
        )
        for change in rows.only("pk", "changes").iterator(chunk_size=CHUNK):
            masked = {
                name: [ERASED if value_present(v) else v for v in pair]
                if name in personal and isinstance(pair, list)
                else person.value_mask(pair)
                for name, pair in (change.changes or {}).items()
            }
            if masked != change.changes:
                RecordChange.objects.filter(pk=change.pk).update(changes=masked)
                total += 1
    return total


def admin_log_scrub(person: Person) -> int:
    """Django admin's history of the records (its text repeats the record's name)."""
    total = 0
    for kind, pks in person.record_pks.items():
        model = RECORD_MODELS[kind]
        if not model.PERSONAL_FIELDS or not pks:
            continue
        content_type = ContentType.objects.get_for_model(model)
        total += LogEntry.objects.filter(
            content_type=content_type, object_id__in=[str(pk) for pk in pks]
        ).update(object_repr=ERASED, change_message="")
    return total


def location_scope(path: str = "location") -> Scope:
    """Rows of the person's location, and rows of no location (a rejected webhook, an export
    across locations): those are searched for the person too."""
    return lambda person: Q(**{f"{path}_id": person.location_id}) | Q(**{f"{path}__isnull": True})


def rows_mentioning(
    queryset: "models.QuerySet[Any]", fields: tuple[str, ...], needles: list[str]
) -> "models.QuerySet[Any]":
    """The rows where any of ``fields`` (text or JSON, JSON read as its text) holds a needle."""
    model = queryset.model
    casts = {
        f"_erasure_{name}": Cast(name, TextField())
        for name in fields
        if isinstance(model._meta.get_field(name), models.JSONField)
    }
    columns = [f"_erasure_{name}" if f"_erasure_{name}" in casts else name for name in fields]
    mentions = Q()
    for column in columns:
        for needle in needles:
            mentions |= Q(**{f"{column}__icontains": needle})
    found: models.QuerySet[Any] = queryset.annotate(**casts).filter(mentions)
    return found


def column_store(
    name: str,
    model: type[models.Model],
    fields: tuple[str, ...],
    *,
    scope: Scope | None = None,
    label: str = "",
) -> Store:
    """A store for ``model``: in the rows of ``scope`` (default: the person's location or none)
    where a text or JSON column of ``fields`` mentions the person, every one of ``fields``
    is masked (the person's identifiers and names, and every personal key's value)."""
    where = scope or location_scope()

    def scrub(person: Person) -> int:
        needles = person.needles()
        if not needles:
            return 0
        rows = rows_mentioning(model._default_manager.filter(where(person)), fields, needles)
        total = 0
        for row in rows.only("pk", *fields).iterator(chunk_size=CHUNK):
            changed = {}
            for field_name in fields:
                value = getattr(row, field_name)
                masked = (
                    person.text_mask(value) if isinstance(value, str) else person.value_mask(value)
                )
                if masked != value:
                    changed[field_name] = masked
            if changed:
                model._default_manager.filter(pk=row.pk).update(**changed)
                total += 1
        return total

    return Store(name, label or str(model._meta.verbose_name_plural), scrub)


def record_payload_store(
    name: str,
    model: type[models.Model],
    *,
    entity_field: str = "entity",
    id_field: str = "ghl_id",
    label: str = "",
) -> Store:
    """A store for ``model`` whose rows each keep one HighLevel record's payload (location,
    entity, HighLevel id): the rows of the person's records are deleted, as they are when the
    record is deleted (an emptied payload would be re-applied to the record as if HighLevel had
    emptied it). Runs for the grace-period erasure too (``by_record``)."""

    def scrub(person: Person) -> int:
        which = Q()
        for kind, ids in person.ghl_ids.items():
            which |= Q(**{entity_field: kind, f"{id_field}__in": ids})
        if not which:
            return 0
        rows = model._default_manager.filter(which, location_id=person.location_id)
        deleted, _ = rows.delete()
        return deleted

    return Store(name, label or str(model._meta.verbose_name_plural), scrub, by_record=True)


STORES: list[Store] = [
    Store("records", "Rankr records", records_scrub, by_record=True),
    Store("record_history", "record history", record_history_scrub, by_record=True),
    Store("admin_log", "admin history", admin_log_scrub, by_record=True),
    column_store(
        "sync_log",
        SyncLog,
        ("path", "error", "request_summary", "response_summary"),
    ),
    column_store("webhook_events", WebhookEvent, ("payload", "reason")),
    column_store("jobs", Job, ("subject", "params", "result", "error_message")),
    column_store(
        "job_attempts", JobAttempt, ("error_message",), scope=location_scope("job__location")
    ),
    # The last raw payload of each record (mapping previews and re-applies), records set aside.
    record_payload_store("raw_payloads", SourcePayload),
    record_payload_store("quarantined_records", QuarantinedRecord),
    # Another record's payload naming the person, a record quarantined before it reached Rankr
    # (no Rankr record to find it by): found by mention, masked.
    column_store("raw_payload_mentions", SourcePayload, ("payload",)),
    column_store("quarantine_mentions", QuarantinedRecord, ("value", "reason", "record")),
    # HighLevel's last error may quote the person ("422: email … is invalid"); a subscription's
    # parameters may search for them.
    column_store("subscriptions", Subscription, ("parameters", "last_run_error")),
    column_store("connections", Connection, ("last_error",)),
    # An export's audit entry keeps its query: a search for the person's address is there.
    column_store("audit_events", AuditEvent, ("target", "detail")),
]


def stores_by_record() -> list[Store]:
    return [store for store in STORES if store.by_record]
