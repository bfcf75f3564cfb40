"""Write Rankr records: idempotent, race-safe upserts and soft deletes.

``location_id`` is always the portal's ``Location`` primary key; ``ghl_id`` is HighLevel's id.
Both upserts rest on the (location, ghl_id) unique constraint, so two workers applying the same
record at once end with one row: the single upsert through ``update_or_create`` (which re-reads
after losing an insert race), the bulk one through ``INSERT … ON CONFLICT DO UPDATE``.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from portal.errors import PortalError
from rankr.history import record_changes_write, record_deletion_write
from rankr.models import RECORD_MODELS, RankrRecord


class RecordError(PortalError, ValueError):
    """Bad input to a record service: unknown kind or field, missing id."""


@dataclass(frozen=True)
class RecordUpsert:
    """One record of a page: its HighLevel id, the mapped values, the source's fingerprint."""

    ghl_id: str
    values: dict[str, Any]
    fingerprint: str


@dataclass(frozen=True)
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def record_model_get(*, kind: str) -> type[RankrRecord]:
    try:
        return RECORD_MODELS[kind]
    except KeyError:
        known = ", ".join(sorted(RECORD_MODELS))
        raise RecordError(f"Unknown Rankr record kind {kind!r}; known kinds: {known}.") from None


def record_fingerprint(*, data: object) -> str:
    """A stable hash of HighLevel data: same content, same fingerprint, whatever the key order."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _values_check(model: type[RankrRecord], values: Iterable[str]) -> None:
    allowed = set(model.mapped_field_names())
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise RecordError(
            f"{model._meta.verbose_name} has no field {', '.join(map(repr, unknown))}; "
            f"fields: {', '.join(sorted(allowed))}."
        )


def _ghl_id_check(ghl_id: object) -> None:
    if not isinstance(ghl_id, str) or not ghl_id.strip():
        raise RecordError(f"A HighLevel id is required, got {ghl_id!r}.")


def _model(kind: str | None, model: type[RankrRecord] | None) -> type[RankrRecord]:
    return model if model is not None else record_model_get(kind=kind or "")


def record_upsert(*, location_id: int, ghl_id: str, values: dict[str, Any], fingerprint: str,
                  kind: str | None = None, model: type[RankrRecord] | None = None
                  ) -> tuple[RankrRecord, bool]:
    """Create or update one record; revives it if it was soft-deleted. Returns (record, created).

    Calling it twice with the same arguments leaves the same single row. ``model`` (a
    ``RankrRecord`` model, as an entity names it) or ``kind`` (one of ``RECORD_MODELS``).
    """
    model = _model(kind, model)
    _ghl_id_check(ghl_id)
    _values_check(model, values)
    defaults = {**values, "fingerprint": fingerprint, "deleted_at": None}
    return model.objects.update_or_create(
        location_id=location_id, ghl_id=ghl_id, defaults=defaults
    )


def record_upsert_many(*, location_id: int, items: Iterable[RecordUpsert], kind: str | None = None,
                       model: type[RankrRecord] | None = None,
                       mapping_version_id: int | None = None) -> UpsertCounts:
    """Upsert a page of :class:`RecordUpsert` in one transaction; skip unchanged fingerprints.

    A record whose stored fingerprint equals the new one (and is not soft-deleted) is left alone.
    Duplicate ids within the page: the last one wins. Each written record gets a history row
    (what changed, the job, ``mapping_version_id``). Returns :class:`UpsertCounts`.
    """
    model = _model(kind, model)
    latest: dict[str, RecordUpsert] = {}
    for item in items:
        _ghl_id_check(item.ghl_id)
        _values_check(model, item.values)
        latest[item.ghl_id] = item
    if not latest:
        return UpsertCounts()

    with transaction.atomic():
        rows = model.objects.filter(location_id=location_id, ghl_id__in=list(latest)).values_list(
            "ghl_id", "fingerprint", "deleted_at"
        )
        existing: set[str | None] = set()
        stored: dict[str | None, str] = {}
        for ghl_id, fingerprint, deleted_at in rows:
            existing.add(ghl_id)
            if deleted_at is None:
                stored[ghl_id] = fingerprint
        to_write = [i for i in latest.values() if stored.get(i.ghl_id) != i.fingerprint]
        before = _values_before(model, location_id, [i for i in to_write if i.ghl_id in existing])
        # Rows must share one column list per INSERT: group the page by the set of fields.
        groups: dict[tuple[str, ...], list[RecordUpsert]] = {}
        for item in to_write:
            groups.setdefault(tuple(sorted(item.values)), []).append(item)
        for fields, group in groups.items():
            objs = [
                model(
                    location_id=location_id,
                    ghl_id=item.ghl_id,
                    fingerprint=item.fingerprint,
                    deleted_at=None,
                    **item.values,
                )
                for item in group
            ]
            model.objects.bulk_create(
                objs,
                update_conflicts=True,
                unique_fields=["location", "ghl_id"],
                update_fields=[*fields, "fingerprint", "deleted_at", "updated_at"],
            )
        record_changes_write(kind=model.KIND, location_id=location_id, before=before,
                             after={i.ghl_id: i.values for i in to_write},
                             mapping_version_id=mapping_version_id)
    created = sum(1 for i in to_write if i.ghl_id not in existing)
    return UpsertCounts(
        created=created, updated=len(to_write) - created, unchanged=len(latest) - len(to_write)
    )


def _values_before(model: type[RankrRecord], location_id: int,
                   items: list[RecordUpsert]) -> dict[str, dict[str, Any]]:
    """{ghl_id: {field: value}} of the stored rows about to be overwritten (only their fields)."""
    fields = sorted({name for item in items for name in item.values})
    if not items or not fields:
        return {}
    rows = model.objects.filter(location_id=location_id, ghl_id__in=[i.ghl_id for i in items])
    encoder = DjangoJSONEncoder()
    return {
        row["ghl_id"]: {k: _plain(v, encoder) for k, v in row.items() if k != "ghl_id"}
        for row in rows.values("ghl_id", *fields)
    }


def _plain(value: Any, encoder: DjangoJSONEncoder) -> Any:
    """A stored value comparable with (and storable like) a mapped one: dates as ISO text."""
    if value is None or isinstance(value, (str, bool, int, float, list, dict)):
        return value
    return encoder.default(value)


def record_soft_delete(*, location_id: int, ghl_id: str, kind: str | None = None,
                       model: type[RankrRecord] | None = None) -> bool:
    """Mark the record deleted in HighLevel. Returns True if a live record was marked.

    The fingerprint is cleared so that if HighLevel brings the record back, it is applied again.
    Deleting an unknown or already deleted record is not an error (webhooks repeat).
    """
    model = _model(kind, model)
    _ghl_id_check(ghl_id)
    marked = model.objects.filter(
        location_id=location_id, ghl_id=ghl_id, deleted_at__isnull=True
    ).update(deleted_at=timezone.now(), fingerprint="", updated_at=timezone.now())
    if marked:
        record_deletion_write(kind=model.KIND, location_id=location_id, ghl_id=ghl_id)
    return marked == 1
