"""One HighLevel record into Rankr, by the same path a polled page takes.

``record_apply`` maps the record with the location's current HighLevel→Rankr mapping and upserts
it through ``mapping_page_apply`` (fingerprint, then upsert by (location, HighLevel id)), so a
record that arrives by webhook, by resync and again by polling stays one row.
"""

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from integrations.sync.targets import EventError, mapping_version_find
from mappings.entities import ENTITIES, FETCH, GHL_TO_RANKR, NATURAL_KEYS
from mappings.rules import path_get
from mappings.services import mapping_page_apply, payloads_forget, time_parse
from rankr.models import RankrRecord
from rankr.services import record_soft_delete


class NoMapping(EventError):
    """The location maps no HighLevel records of this entity into Rankr."""


def record_ghl_id(*, entity: str, record: object) -> str:
    ghl_id = path_get(record, ENTITIES[entity].id_path) if isinstance(record, dict) else None
    if not isinstance(ghl_id, str) or not ghl_id:
        raise EventError(
            f"The {entity} record has no {ENTITIES[entity].id_path!r}: nothing to apply."
        )
    return ghl_id


def record_apply(
    *,
    location_id: int,
    entity: str,
    record: dict[str, Any],
    event_time: object = None,
    source: str = "",
    job_id: int | None = None,
) -> dict[str, Any]:
    """Map and upsert one HighLevel record; returns the counts and the mapping version applied.

    Applied only if newer than what Rankr holds (the record's modification time, else
    ``event_time``, the webhook's timestamp): ``stale`` says when it was not.

    Raises :class:`NoMapping` when the location has no mapping for the entity. A record that
    cannot be stored is quarantined (``quarantined`` is 1), not raised: the job succeeds.
    """
    ghl_id = record_ghl_id(entity=entity, record=record)
    fetch = FETCH.get(entity)
    version = mapping_version_find(
        location_id=location_id,
        entity=entity,
        direction=GHL_TO_RANKR,
        operation_keys=(fetch.operation,) if fetch else (),
    )
    if version is None:
        raise NoMapping(
            f"The location has no HighLevel → Rankr mapping for {ENTITIES[entity].label.lower()}s: "
            "apply a flow template or add a mapping, then re-run."
        )
    record_natural_claim(location_id=location_id, entity=entity, ghl_id=ghl_id, record=record)
    result = mapping_page_apply(
        mapping_version=version,
        location_id=location_id,
        records=[record],
        event_time=event_time,
        source=source,
        job_id=job_id,
    )
    if result.failed:
        raise EventError("; ".join(f"{where}: {message}" for where, message in result.failed))
    counts = result.counts
    return {
        "ghl_id": ghl_id,
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "stale": counts.stale,
        "quarantined": result.quarantined,
        "mapping_version_id": version.pk,
    }


def record_natural_claim(
    *, location_id: int, entity: str, ghl_id: str, record: dict[str, Any]
) -> bool:
    """Give a Rankr-created record (no HighLevel id yet) the id HighLevel reports for it.

    A Rankr lead or user reaches HighLevel, and HighLevel's webhook may come back before the job
    that created it has recorded the id: matched by email, it is the same record, not a new one.
    """
    key = NATURAL_KEYS.get(entity)
    value = record.get(key) if key else None
    if not isinstance(value, str) or not value.strip():
        return False
    model = ENTITIES[entity].rankr_model
    if model is None:  # a payload-only entity keeps no Rankr records to claim
        return False
    if model.objects.filter(location_id=location_id, ghl_id=ghl_id).exists():
        return False
    pending = (
        model.objects.filter(location_id=location_id, ghl_id__isnull=True)
        .filter(**{f"{key}__iexact": value.strip()})
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if pending is None:
        return False
    try:
        with transaction.atomic():
            return model.objects.filter(pk=pending, ghl_id__isnull=True).update(ghl_id=ghl_id) == 1
    except IntegrityError:  # another worker applied the record meanwhile: its row stands
        return False


def record_remove(*, location_id: int, entity: str, ghl_id: str, deleted_at: object = None) -> bool:
    """Soft-delete the Rankr record HighLevel deleted at ``deleted_at`` (a tombstone with that
    time: older versions arriving later are not applied); True if a live one was marked. Its
    stored raw payload goes with it, unless the deletion was stale (a newer version stands): the
    store keeps live records only."""
    model = ENTITIES[entity].rankr_model
    marked = record_soft_delete(
        model=model,
        location_id=location_id,
        ghl_id=ghl_id,
        changed_at=time_parse(deleted_at) if not isinstance(deleted_at, datetime) else deleted_at,
    )
    live = (
        model is not None
        and model.objects.filter(
            location_id=location_id, ghl_id=ghl_id, deleted_at__isnull=True
        ).exists()
    )
    if marked or not live:
        payloads_forget(location_id=location_id, entity=entity, ghl_ids=[ghl_id])
    return marked


def record_ghl_id_set(*, model: type[RankrRecord], pk: int, location_id: int, ghl_id: str) -> None:
    """Record the HighLevel id of a record Rankr created.

    If a webhook or poll already copied that HighLevel record into a second row (it came back
    before we knew its id and without a matching email), the copy goes: the Rankr original stays
    and is re-applied by the next sync (fingerprint cleared).
    """
    with transaction.atomic():
        model.objects.filter(location_id=location_id, ghl_id=ghl_id).exclude(pk=pk).delete()
        model.objects.filter(pk=pk).exclude(ghl_id=ghl_id).update(ghl_id=ghl_id, fingerprint="")
