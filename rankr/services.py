"""Write Rankr records: idempotent, race-safe upserts and soft deletes.

``location_id`` is always the portal's ``Location`` primary key; ``ghl_id`` is HighLevel's id.
Both upserts rest on the (location, ghl_id) unique constraint, so two workers applying the same
record at once end with one row: the single upsert through ``update_or_create`` (which re-reads
after losing an insert race), the page upsert by locking the rows it may change.

Newest wins, by HighLevel's clock: each version a sync applies carries its time (``changed_at``:
the record's modification time where HighLevel gives one, else the event's) and a tie-break, and
:func:`record_upsert_many` writes it only over an older version, deciding under the row lock
(``select_for_update``) in the same transaction as the write. A deletion leaves a tombstone with
its time (:func:`record_soft_delete`), so an older version arriving later never revives it.
"""

import functools
import hashlib
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from portal.bulk import rows_insert_tuples, rows_select, rows_update
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
    changed_at: datetime | None = None  # HighLevel's time of this version (None: unknown)
    tiebreak: str = ""  # orders versions with the same time (a hash of the version)


@dataclass(frozen=True)
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0  # older than the version (or deletion) Rankr already holds: not applied


TOMBSTONE = "~"  # a deletion's tie-break: sorts after every hex hash, so a delete wins a tie


def version_newer(
    *,
    changed_at: datetime | None,
    tiebreak: str,
    stored_at: datetime | None,
    stored_tiebreak: str,
    stored_deleted: bool,
) -> bool:
    """Is the arriving version (``changed_at``, ``tiebreak``) to replace the stored one?

    Newer time wins; the same time is ordered by the tie-break (equal: the same version again,
    applied, which a new mapping version needs). A version of unknown time replaces a live row
    (nothing to compare it with) but never revives a deletion whose time is known.
    """
    if changed_at is None:
        return not (stored_deleted and stored_at is not None)
    if stored_at is None:
        return True
    return (changed_at, tiebreak) >= (stored_at, stored_tiebreak)


def record_model_get(*, kind: str) -> type[RankrRecord]:
    try:
        return RECORD_MODELS[kind]
    except KeyError:
        known = ", ".join(sorted(RECORD_MODELS))
        raise RecordError(f"Unknown Rankr record kind {kind!r}; known kinds: {known}.") from None


def record_fingerprint(*, data: object) -> str:
    """A stable hash of HighLevel data: same content, same fingerprint, whatever the key order."""
    return record_fingerprint_text(data=data)[0]


def record_fingerprint_text(*, data: object) -> tuple[str, str]:
    """(:func:`record_fingerprint` of ``data``, the canonical text it hashes)."""
    canonical = record_canonical(data=data)
    return hashlib.sha256(canonical.encode()).hexdigest(), canonical


def record_canonical(*, data: object) -> str:
    """The text :func:`record_fingerprint` hashes: JSON, keys sorted, no spaces."""
    return _CANONICAL.encode(data)


# What json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder) makes, the
# encoder made once (encode keeps no state between calls).
_CANONICAL = DjangoJSONEncoder(sort_keys=True, separators=(",", ":"))


def record_fingerprints(*, record: object, version_id: int) -> tuple[str, str]:
    """(fingerprint of ``record`` under mapping version ``version_id``, fingerprint of
    ``record``), the record made canonical once: the same as
    ``record_fingerprint(data={"v": version_id, "record": record})`` and
    ``record_fingerprint(data=record)``."""
    encoded = record_encode(record=record, version_id=version_id)
    return encoded.fingerprint, encoded.tiebreak


class EncodedRecord(NamedTuple):
    fingerprint: str  # of the record under the mapping version
    tiebreak: str  # of the record alone (also its stored payload's fingerprint)
    canonical: str  # the record's canonical JSON text, which ``tiebreak`` hashes


def record_encode(*, record: object, version_id: int) -> EncodedRecord:
    """:func:`record_fingerprints` and the canonical text they hash (a payload stored as it is)."""
    canonical = _CANONICAL.encode(record)
    text = canonical.encode()
    versioned = _VERSIONED.copy()  # the hash of '{"record":' + canonical + ',"v":<id>}'
    versioned.update(text)
    versioned.update(f',"v":{json.dumps(version_id)}}}'.encode())
    return EncodedRecord(versioned.hexdigest(), hashlib.sha256(text).hexdigest(), canonical)


_VERSIONED = hashlib.sha256(b'{"record":')


@functools.cache
def _mapped_names(model: type[RankrRecord]) -> frozenset[str]:
    return frozenset(model.mapped_field_names())


def _values_check(model: type[RankrRecord], values: Iterable[str]) -> None:
    allowed = _mapped_names(model)
    if allowed.issuperset(values):
        return
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


def record_upsert(
    *,
    location_id: int,
    ghl_id: str,
    values: dict[str, Any],
    fingerprint: str,
    kind: str | None = None,
    model: type[RankrRecord] | None = None,
) -> tuple[RankrRecord, bool]:
    """Create or update one record; revives it if it was soft-deleted. Returns (record, created).

    Calling it twice with the same arguments leaves the same single row. ``model`` (a
    ``RankrRecord`` model, as an entity names it) or ``kind`` (one of ``RECORD_MODELS``).
    """
    model = _model(kind, model)
    _ghl_id_check(ghl_id)
    _values_check(model, values)
    defaults = {**values, "fingerprint": fingerprint, "deleted_at": None}
    return model.objects.update_or_create(location_id=location_id, ghl_id=ghl_id, defaults=defaults)


def record_upsert_many(
    *,
    location_id: int,
    items: Iterable[RecordUpsert],
    kind: str | None = None,
    model: type[RankrRecord] | None = None,
    mapping_version_id: int | None = None,
    locked: tuple[Collection[str], dict[str, "StoredVersion"]] | None = None,
) -> UpsertCounts:
    """Upsert a page of :class:`RecordUpsert` in one transaction: newest wins, unchanged skipped.

    A version older than the one Rankr holds (or than its deletion) is left out (``stale``); a
    record whose stored fingerprint equals the new one (and is not deleted) is left alone.
    Duplicate ids within the page: the newest one wins. Each written record gets a history row
    (what changed, the job, ``mapping_version_id``). Returns :class:`UpsertCounts`.
    ``locked``: (ids, their stored versions) the caller already read with
    :func:`record_versions_locked` in this transaction (an id missing from the versions has no
    row); those are not read again.
    """
    model = _model(kind, model)
    latest: dict[str, RecordUpsert] = {}
    for item in items:
        _ghl_id_check(item.ghl_id)
        _values_check(model, item.values)
        held = latest.get(item.ghl_id)
        if held is None or version_newer(
            changed_at=item.changed_at,
            tiebreak=item.tiebreak,
            stored_at=held.changed_at,
            stored_tiebreak=held.tiebreak,
            stored_deleted=False,
        ):
            latest[item.ghl_id] = item
    if not latest:
        return UpsertCounts()
    counts = {"created": 0, "updated": 0, "unchanged": 0, "stale": 0}
    with transaction.atomic():
        looked, known = locked or ((), {})
        rows = {ghl_id: known[ghl_id] for ghl_id in latest if ghl_id in known}
        rows.update(_rows_locked(model, location_id, [g for g in latest if g not in looked]))
        fresh = [item for ghl_id, item in latest.items() if ghl_id not in rows]
        inserted = _fresh_insert(model, location_id, fresh)
        # Ids another transaction inserted meanwhile were skipped: judge those like the others.
        raced = (
            {}
            if inserted == len(fresh)
            else {
                ghl_id: row
                for ghl_id, row in _rows_locked(
                    model, location_id, [i.ghl_id for i in fresh]
                ).items()
                if (row.fingerprint, row.source_changed_at)
                != (latest[ghl_id].fingerprint, latest[ghl_id].changed_at)
            }
        )
        created = [i for i in fresh if i.ghl_id not in raced]
        counts["created"] = len(created)
        rows.update(raced)
        newer = [latest[g] for g, row in rows.items() if _is_newer(row, latest[g])]
        before = _values_before(model, location_id, newer)
        written = {i.ghl_id: i.values for i in created}
        writes: list[tuple[int, dict[str, Any]]] = []
        now = timezone.now()
        for ghl_id, row in rows.items():
            outcome, write = _row_apply(row, latest[ghl_id], now=now)
            counts[outcome] += 1
            if write:
                writes.append((row.pk, write))
            if outcome == "updated":
                written[ghl_id] = latest[ghl_id].values
        rows_update(model=model, rows=writes)
        record_changes_write(
            kind=model.KIND,
            location_id=location_id,
            before=before,
            after=written,
            mapping_version_id=mapping_version_id,
        )
    return UpsertCounts(**counts)


_STAMPS = ("location_id", "ghl_id", "fingerprint", "source_changed_at", "source_tiebreak")


def _fresh_insert(model: type[RankrRecord], location_id: int, fresh: list[RecordUpsert]) -> int:
    """INSERT the records Rankr has no row for (skipping any another transaction inserted
    meanwhile), one statement for the rows that set the same fields (a page's usually all do)."""
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for i in fresh:
        values = i.values
        stamps = (location_id, i.ghl_id, i.fingerprint, i.changed_at, i.tiebreak)
        groups.setdefault(tuple(values), []).append((*values.values(), *stamps))
    return sum(
        rows_insert_tuples(
            model=model, columns=(*names, *_STAMPS), rows=rows, ignore_conflicts=True
        )
        for names, rows in groups.items()
    )


class StoredVersion(NamedTuple):
    """What the page upsert reads of a stored record: only what deciding needs."""

    pk: int
    ghl_id: str
    fingerprint: str
    deleted_at: datetime | None
    source_changed_at: datetime | None
    source_tiebreak: str


def _rows_locked(
    model: type[RankrRecord], location_id: int, ghl_ids: list[str]
) -> dict[str, StoredVersion]:
    if not ghl_ids:
        return {}
    rows = rows_select(
        model=model,
        fields=StoredVersion._fields,
        where={"location_id": location_id},
        among=("ghl_id", ghl_ids),
        # Locks taken in one order (no two pages deadlock), the order of the unique (location,
        # ghl_id) index: ordered by pk, SQLite walked every row of the location for each page.
        order_by=("ghl_id",),
        lock=True,
    )
    return {str(row[1]): StoredVersion(*row) for row in rows}


def record_versions_locked(
    *, model: type[RankrRecord], location_id: int, ghl_ids: list[str]
) -> dict[str, StoredVersion]:
    """The stored versions of these records, locked to the end of the caller's transaction."""
    return _rows_locked(model, location_id, ghl_ids)


def version_held(
    *, stored: StoredVersion, fingerprint: str, changed_at: datetime | None, tiebreak: str
) -> bool:
    """Is this exactly the version ``stored`` holds, so :func:`record_upsert_many` would count it
    unchanged and write nothing? (Live, same fingerprint, same version time and tie-break.)"""
    if stored.deleted_at is not None or stored.fingerprint != fingerprint:
        return False
    return changed_at is None or (changed_at, tiebreak) == (
        stored.source_changed_at,
        stored.source_tiebreak,
    )


def _is_newer(row: StoredVersion, item: RecordUpsert) -> bool:
    return version_newer(
        changed_at=item.changed_at,
        tiebreak=item.tiebreak,
        stored_at=row.source_changed_at,
        stored_tiebreak=row.source_tiebreak,
        stored_deleted=row.deleted_at is not None,
    )


def _row_apply(
    row: StoredVersion, item: RecordUpsert, *, now: datetime
) -> tuple[str, dict[str, Any]]:
    """What writing ``item`` over the locked ``row`` does: (outcome, the fields to write)."""
    if not _is_newer(row, item):
        return "stale", {}
    stamps = {
        "source_changed_at": item.changed_at or row.source_changed_at,
        "source_tiebreak": item.tiebreak if item.changed_at else row.source_tiebreak,
    }
    if row.deleted_at is None and row.fingerprint == item.fingerprint:
        if (stamps["source_changed_at"], stamps["source_tiebreak"]) == (
            row.source_changed_at,
            row.source_tiebreak,
        ):
            return "unchanged", {}  # the same version again: nothing to write
        return "unchanged", stamps
    return "updated", {
        **item.values,
        **stamps,
        "fingerprint": item.fingerprint,
        "deleted_at": None,
        "updated_at": now,
    }


def _values_before(
    model: type[RankrRecord], location_id: int, items: list[RecordUpsert]
) -> dict[str, dict[str, Any]]:
    """{ghl_id: {field: value}} of the stored rows about to be overwritten (only their fields)."""
    fields = sorted({name for item in items for name in item.values})
    if not items or not fields:
        return {}
    rows = rows_select(
        model=model,
        fields=["ghl_id", *fields],
        where={"location_id": location_id},
        among=("ghl_id", [i.ghl_id for i in items]),
    )
    encoder = DjangoJSONEncoder()
    return {
        row[0]: {k: _plain(v, encoder) for k, v in zip(fields, row[1:], strict=True)}
        for row in rows
    }


def _plain(value: Any, encoder: DjangoJSONEncoder) -> Any:
    """A stored value comparable with (and storable like) a mapped one: dates as ISO text."""
    if value is None or isinstance(value, (str, bool, int, float, list, dict)):
        return value
    return encoder.default(value)


def record_soft_delete(
    *,
    location_id: int,
    ghl_id: str,
    kind: str | None = None,
    model: type[RankrRecord] | None = None,
    changed_at: datetime | None = None,
) -> bool:
    """Mark the record deleted in HighLevel at ``changed_at``. True if a live record was marked.

    The deletion is a tombstone carrying its time: a version of the record older than the
    deletion arriving later is not applied (a record Rankr never held gets a tombstone row for
    that reason). A version newer than the deletion stands: the delete is stale. Without a time
    (``None``) the record is marked deleted now. The fingerprint is cleared so a later revival
    is applied. Deleting an unknown or already deleted record is not an error (webhooks repeat).
    """
    model = _model(kind, model)
    _ghl_id_check(ghl_id)
    now = timezone.now()
    with transaction.atomic():
        row = _rows_locked(model, location_id, [ghl_id]).get(ghl_id)
        if row is None and changed_at is not None:
            model.objects.bulk_create(
                [
                    model(
                        location_id=location_id,
                        ghl_id=ghl_id,
                        deleted_at=now,
                        source_changed_at=changed_at,
                        source_tiebreak=TOMBSTONE,
                    )
                ],
                ignore_conflicts=True,
            )
            row = _rows_locked(model, location_id, [ghl_id]).get(ghl_id)
            if row is not None and row.source_tiebreak == TOMBSTONE:
                return False  # a tombstone for a record Rankr never held
        if row is None:
            return False
        if changed_at is not None and not version_newer(
            changed_at=changed_at,
            tiebreak=TOMBSTONE,
            stored_at=row.source_changed_at,
            stored_tiebreak=row.source_tiebreak,
            stored_deleted=False,
        ):
            return False  # a newer version than the deletion stands
        stamps: dict[str, Any] = (
            {"source_changed_at": changed_at, "source_tiebreak": TOMBSTONE}
            if changed_at is not None
            else {}
        )
        model.objects.filter(pk=row.pk).update(
            deleted_at=row.deleted_at or now, fingerprint="", updated_at=now, **stamps
        )
        marked = row.deleted_at is None
        if marked:
            record_deletion_write(kind=model.KIND, location_id=location_id, ghl_id=ghl_id)
        return marked
