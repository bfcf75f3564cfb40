"""Mapping services: save with a new version and an audit event, apply, apply a template."""

import copy
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from mappings.entities import ENTITIES, GHL_TO_RANKR
from mappings.flow_templates import FLOW_TEMPLATES
from mappings.models import Mapping, MappingVersion, QuarantinedRecord, SourcePayload
from mappings.quarantine import quarantine_add, quarantine_resolve, quarantine_retry_enqueue
from mappings.rules import CompiledRules, MappingError, path_get, rules_check, rules_compile
from portal.bulk import JsonText, rows_insert_tuples, rows_select
from portal.errors import PortalError
from portal.models import AuditEvent
from rankr.services import (
    RecordUpsert,
    UpsertCounts,
    record_encode,
    record_fingerprint_text,
    record_upsert_many,
    record_versions_locked,
    version_held,
)

__all__ = [
    "MappingError",
    "mapping_apply",
    "mapping_check",
    "mapping_page_apply",
    "mapping_save",
    "mapping_template_apply",
    "mapping_time_zone",
    "mapping_version_latest",
]


def mapping_check(*, entity: str, direction: str, null_policy: str, rules: Any) -> list[str]:
    """The rules' problems as messages ("Rule 2 (field 'phone'): …"); empty when fine."""
    return rules_check(entity_key=entity, direction=direction, null_policy=null_policy, rules=rules)


def _snapshot(mapping: Mapping | MappingVersion) -> dict[str, Any]:
    return {
        "entity": mapping.entity,
        "direction": mapping.direction,
        "null_policy": mapping.null_policy,
        "rules": mapping.rules,
    }


@transaction.atomic
def mapping_save(*, mapping: Mapping, user_id: int | None, reason: str = "") -> MappingVersion:
    """Validate and save ``mapping``; record a new version and a "mapping.changed" audit event.

    A save that changes nothing the rules depend on (entity, direction, null policy, rules) makes
    no new version. ``reason`` goes into the audit event (e.g. "restored version 2").
    Returns the mapping's latest version. Raises ``ValidationError`` with the
    rule messages under ``rules`` when the rules do not check.
    """
    problems = mapping_check(
        entity=mapping.entity,
        direction=mapping.direction,
        null_policy=mapping.null_policy,
        rules=mapping.rules,
    )
    if problems:
        raise ValidationError({"rules": problems})
    adding = mapping.pk is None
    mapping.save()
    # Saving updated the mapping's row, which holds its lock to the end of this transaction:
    # two saves at once number their versions one after the other.
    latest = mapping.versions.order_by("-number").first()
    snapshot = _snapshot(mapping)
    if latest is not None and _snapshot(latest) == snapshot:
        return latest
    version = MappingVersion.objects.create(
        mapping=mapping,
        number=(latest.number + 1) if latest else 1,
        created_by_id=user_id,
        **snapshot,
    )
    if QuarantinedRecord.objects.filter(mapping=mapping, resolved_at__isnull=True).exists():
        # What the old rules set aside may fit the new ones: try it again, without a backfill.
        quarantine_retry_enqueue(mapping_id=mapping.pk)
    if latest is not None:
        # Records Rankr holds were mapped by the previous version: map their stored payloads
        # again (no HighLevel request), rather than wait for each to change.
        payloads_reapply_enqueue(mapping=mapping)
    AuditEvent.objects.create(
        actor_id=user_id,
        action="mapping.changed",
        location_id=mapping.location_id,
        target=f"mapping {mapping.pk}: {mapping.name}"[:255],
        detail={
            "mapping_id": mapping.pk,
            "version": version.number,
            "created": adding,
            "template": mapping.template_key,
            "reason": reason,
            "previous_version": latest.number if latest else None,
            "previous_rules": latest.rules if latest else None,
            "rules": mapping.rules,
        },
    )
    return version


def mapping_version_latest(*, mapping_id: int | None) -> MappingVersion | None:
    """The version the sync applies now (None for a mapping never saved through mapping_save),
    read with its location's time zone (:func:`mapping_time_zone` then asks nothing more)."""
    if mapping_id is None:
        return None
    version = (
        MappingVersion.objects.filter(mapping_id=mapping_id)
        .annotate(location_time_zone=F("mapping__location__time_zone"))
        .order_by("-number")
        .first()
    )
    if version is not None:
        version._time_zone = version.location_time_zone or "UTC"  # type: ignore[attr-defined]
    return version


def mapping_time_zone(*, mapping_version: MappingVersion) -> str:
    """The IANA time zone naive HighLevel dates are read in: the mapping's location's."""
    cached: str | None = getattr(mapping_version, "_time_zone", None)
    if cached is None:
        cached = (
            Mapping.objects.filter(pk=mapping_version.mapping_id)
            .values_list("location__time_zone", flat=True)
            .first()
        ) or "UTC"
        mapping_version._time_zone = cached  # type: ignore[attr-defined]  # per-object cache
    return cached


def mapping_apply(
    *, mapping_version: MappingVersion, record: Any, time_zone: str | None = None
) -> dict[str, Any]:
    """The target values of ``record`` (a dict) under ``mapping_version``'s rules.

    Naive dates are read in ``time_zone``, by default the location's (``Location.time_zone``).
    Raises :class:`MappingError` naming the rule and field that could not apply.
    """
    return mapping_compiled(mapping_version=mapping_version)(
        record, time_zone or mapping_time_zone(mapping_version=mapping_version)
    )


def mapping_compiled(*, mapping_version: MappingVersion) -> CompiledRules:
    """The version's rules compiled once into a plain function (kept on this version object: a
    version's rules never change, and a new version is a new object)."""
    compiled: CompiledRules | None = getattr(mapping_version, "_compiled", None)
    if compiled is None:
        compiled = rules_compile(
            entity_key=mapping_version.entity,
            direction=mapping_version.direction,
            null_policy=mapping_version.null_policy,
            rules=mapping_version.rules,
        )
        mapping_version._compiled = compiled  # type: ignore[attr-defined]  # per-object cache
    return compiled


def record_changed_at(*, entity: str, record: Any, event_time: object = None) -> datetime | None:
    """HighLevel's time of this version of ``record``: its modification time, else ``event_time``."""
    for path in ENTITIES[entity].modified_paths:
        stamp = time_parse(path_get(record, path))
        if stamp is not None:
            return stamp
    return time_parse(event_time)


def time_parse(value: object) -> datetime | None:
    """An aware datetime from HighLevel's ISO 8601 text or epoch milliseconds; None otherwise."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value.strip().replace("Z", "+00:00"))
    except ValueError:  # well-formed but impossible (month 13)
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PageResult:
    counts: UpsertCounts
    # (HighLevel id or position, message) for each record that could not even be identified.
    failed: list[tuple[str, str]] = field(default_factory=list)
    quarantined: int = 0  # records set aside (mappings.quarantine): the rest was written


@transaction.atomic
def mapping_page_apply(
    *,
    mapping_version: MappingVersion,
    location_id: int,
    records: Iterable[Any],
    event_time: object = None,
    source: str = "",
    job_id: int | None = None,
) -> PageResult:
    """Map a page of HighLevel records into Rankr records in one transaction.

    Each record's fingerprint covers its data *and* the mapping version, so unchanged data is
    skipped but a new mapping version re-applies everything. Each carries its version time
    (:func:`record_changed_at`; ``event_time`` is the webhook's timestamp), so an older version
    never overwrites a newer one. A record that cannot be stored (a rule that cannot apply, a
    value its Rankr field cannot hold, a database constraint) is quarantined with the rule, field
    and reason (:mod:`mappings.quarantine`); one without an id is reported in ``failed``; the rest
    are written. A record whose exact version Rankr already holds (a poll over unchanged data) is
    counted unchanged without being mapped again: its row is locked first, so the count is the
    one the upsert would give.
    """
    entity = ENTITIES[mapping_version.entity]
    kind = entity.rankr_kind  # an entity without one (payload only) has no Rankr model
    if mapping_version.direction != GHL_TO_RANKR or not kind:
        raise ValueError(f"{mapping_version} does not map HighLevel records into Rankr.")
    items: list[RecordUpsert] = []
    failed: list[tuple[str, str]] = []
    sources: dict[str, Any] = {}
    aside: dict[str, Any] = dict(
        mapping_version=mapping_version,
        location_id=location_id,
        event_time=event_time,
        source=source,
        job_id=job_id,
    )
    quarantined = 0
    time_zone = mapping_time_zone(mapping_version=mapping_version)
    records = list(records)  # read twice: mapped, then stored as the last payloads
    ids = [path_get(r, entity.id_path) if isinstance(r, dict) else None for r in records]
    once = [i for i, n in Counter(i for i in ids if isinstance(i, str) and i).items() if n == 1]
    # The rows this page may change, locked from here to the end of the transaction:
    # a record whose exact version Rankr holds is counted unchanged without mapping it (its
    # mapping made that row), and nobody can change the row before the upsert would have seen it.
    stored = (
        record_versions_locked(model=entity.rankr_model, location_id=location_id, ghl_ids=once)
        if entity.rankr_model is not None and once
        else {}
    )
    held: list[str] = []
    payloads: list[tuple[str, str] | None] = [None] * len(records)
    for position, record in enumerate(records):
        ghl_id = ids[position]
        if not isinstance(ghl_id, str) or not ghl_id:
            failed.append((f"#{position}", f"the record has no {entity.id_path!r}"))
            continue
        fingerprint, tiebreak, canonical = record_encode(
            record=record, version_id=mapping_version.pk
        )
        payloads[position] = (tiebreak, canonical)
        changed_at = record_changed_at(
            entity=mapping_version.entity, record=record, event_time=event_time
        )
        version = stored.get(ghl_id)
        if version is not None and version_held(
            stored=version, fingerprint=fingerprint, changed_at=changed_at, tiebreak=tiebreak
        ):
            held.append(ghl_id)
            continue
        try:
            values = mapping_apply(
                mapping_version=mapping_version, record=record, time_zone=time_zone
            )
        except MappingError as exc:
            quarantine_add(
                ghl_id=ghl_id,
                record=record,
                reason=str(exc),
                rule_number=exc.rule_number,
                field=exc.target,
                value=exc.value,
                **aside,
            )
            quarantined += 1
            continue
        items.append(
            RecordUpsert(
                ghl_id=ghl_id,
                values=values,
                fingerprint=fingerprint,
                changed_at=changed_at,
                tiebreak=tiebreak,
            )
        )
        sources[ghl_id] = record
    counts = UpsertCounts()
    try:
        if items:  # (a poll over unchanged data has none: no savepoint for nothing)
            with transaction.atomic():
                counts = record_upsert_many(
                    model=entity.rankr_model,
                    location_id=location_id,
                    items=items,
                    mapping_version_id=mapping_version.pk,
                    locked=(set(once), stored),
                )
    except (DataError, IntegrityError):
        # Something only the database could refuse: find which records, one by one.
        counts, refused = _upsert_one_by_one(
            mapping_version=mapping_version, location_id=location_id, items=items
        )
        for item, reason in refused:
            quarantine_add(
                ghl_id=item.ghl_id,
                record=sources[item.ghl_id],
                reason=f"The database refused it: {reason}",
                **aside,
            )
        quarantined += len(refused)
        items = [i for i in items if i.ghl_id not in {r[0].ghl_id for r in refused}]
    if held:
        counts = replace(counts, unchanged=counts.unchanged + len(held))
    quarantine_resolve(
        location_id=location_id,
        entity=mapping_version.entity,
        ghl_ids=[item.ghl_id for item in items] + held,
    )
    payloads_store(
        location_id=location_id,
        entity=mapping_version.entity,
        records=records,
        id_path=entity.id_path,
        encoded=payloads,
    )
    return PageResult(counts=counts, failed=failed, quarantined=quarantined)


def _upsert_one_by_one(
    *, mapping_version: MappingVersion, location_id: int, items: list[RecordUpsert]
) -> tuple[UpsertCounts, list[tuple[RecordUpsert, str]]]:
    model = ENTITIES[mapping_version.entity].rankr_model
    totals, refused = UpsertCounts(), []
    for item in items:
        try:
            with transaction.atomic():
                done = record_upsert_many(
                    model=model,
                    location_id=location_id,
                    items=[item],
                    mapping_version_id=mapping_version.pk,
                )
        except (DataError, IntegrityError) as exc:
            refused.append((item, str(exc).strip().splitlines()[0][:500]))
            continue
        totals = UpsertCounts(*(a + b for a, b in zip(astuple(totals), astuple(done), strict=True)))
    return totals, refused


QUARANTINE_RETRY_PAGE = 100


def quarantine_retry(
    *, quarantine_ids: Iterable[int] | None = None, mapping_id: int | None = None
) -> dict[str, int]:
    """Apply set-aside records again with their mapping's latest version.

    Returns ``{"arrived": n, "still_quarantined": m}``; those that fail again keep their entry
    with the new reason.
    """
    entries = QuarantinedRecord.objects.filter(resolved_at__isnull=True, mapping__isnull=False)
    if quarantine_ids is not None:
        entries = entries.filter(pk__in=list(quarantine_ids))
    if mapping_id is not None:
        entries = entries.filter(mapping_id=mapping_id)
    groups: dict[tuple[int | None, int, str], list[QuarantinedRecord]] = {}
    for entry in entries.order_by("pk"):
        groups.setdefault((entry.mapping_id, entry.location_id, entry.event_time), []).append(entry)
    arrived = still = 0
    for (mapping_id_, location_id, event_time), group in groups.items():
        version = mapping_version_latest(mapping_id=mapping_id_)
        if version is None:
            still += len(group)
            continue
        for start in range(0, len(group), QUARANTINE_RETRY_PAGE):
            chunk = group[start : start + QUARANTINE_RETRY_PAGE]
            result = mapping_page_apply(
                mapping_version=version,
                location_id=location_id,
                records=[entry.record for entry in chunk],
                event_time=event_time or None,
                source="retry",
            )
            still += result.quarantined
            arrived += len(chunk) - result.quarantined - len(result.failed)
    return {"arrived": arrived, "still_quarantined": still}


def payloads_store(
    *,
    location_id: int,
    entity: str,
    records: Sequence[Any],
    id_path: str,
    encoded: Sequence[tuple[str, str] | None] = (),
) -> int:
    """Keep each record's last raw HighLevel payload: one row per record, replaced only when its
    fingerprint changed (an unchanged record polled again writes nothing). A template change is
    previewed on it and a new mapping version re-applied to it without asking HighLevel.
    ``encoded[i]``: (fingerprint, canonical JSON text) of ``records[i]`` when the caller has
    them (the text is stored as it is), else None or absent. Returns how many rows were
    written."""
    rows: dict[str, tuple[str, str]] = {}
    for position, record in enumerate(records):
        ghl_id = path_get(record, id_path) if isinstance(record, dict) else None
        if isinstance(ghl_id, str) and ghl_id:
            known = encoded[position] if position < len(encoded) else None
            rows[ghl_id] = known or record_fingerprint_text(data=record)
    if not rows:
        return 0
    held = dict(
        rows_select(
            model=SourcePayload,
            fields=("ghl_id", "fingerprint"),
            where={"location_id": location_id, "entity": entity},
            among=("ghl_id", list(rows)),
        )
    )
    now = timezone.now()
    return rows_insert_tuples(
        model=SourcePayload,
        columns=("location_id", "entity", "ghl_id", "payload", "fingerprint", "seen_at"),
        rows=[
            (location_id, entity, ghl_id, JsonText(canonical), fingerprint, now)
            for ghl_id, (fingerprint, canonical) in rows.items()
            if held.get(ghl_id) != fingerprint
        ],
        conflict=("location", "entity", "ghl_id"),
        update=("payload", "fingerprint", "seen_at"),
    )


def payloads_forget(*, location_id: int, entity: str, ghl_ids: Iterable[str]) -> int:
    """Remove deleted records' stored payloads (the store stays one row per live record)."""
    return SourcePayload.objects.filter(
        location_id=location_id, entity=entity, ghl_id__in=list(ghl_ids)
    ).delete()[0]


def payloads_reapply_enqueue(*, mapping: Mapping) -> bool:
    """Re-apply ``mapping``'s latest version to the stored payloads, in the worker after the
    caller's transaction commits; only a HighLevel→Rankr mapping with payloads stored. True when
    queued."""
    if mapping.direction != GHL_TO_RANKR or mapping.pk is None:
        return False
    if not SourcePayload.objects.filter(
        location_id=mapping.location_id, entity=mapping.entity
    ).exists():
        return False
    from django_q.tasks import async_task

    mapping_id = mapping.pk
    transaction.on_commit(
        lambda: async_task(
            "integrations.interfaces.tasks.payloads_reapply_task", mapping_id, group="reapply"
        )
    )
    return True


class TemplateError(PortalError, ValueError):
    pass


def mapping_template_apply(
    *, template_key: str, location_id: int, user_id: int | None
) -> tuple[Mapping, bool]:
    """Give a location the template's mapping. Returns (mapping, created).

    Idempotent: when the location already has a mapping for the template's entity, direction and
    operation (from this template or made by hand), that one is returned unchanged.
    """
    template = FLOW_TEMPLATES.get(template_key)
    if template is None:
        raise TemplateError(
            f"Unknown template {template_key!r}; templates: {', '.join(FLOW_TEMPLATES)}."
        )
    natural_key = {
        "location_id": location_id,
        "entity": template.entity,
        "direction": template.direction,
        "operation_key": template.operation_key,
    }
    existing = Mapping.objects.filter(**natural_key).first()
    if existing is not None:
        return existing, False
    mapping = Mapping(
        name=template.title,
        null_policy=template.null_policy,
        rules=copy.deepcopy(template.rules),
        template_key=template_key,
        **natural_key,
    )
    try:
        with transaction.atomic():
            mapping_save(mapping=mapping, user_id=user_id)
    except IntegrityError:
        # Another request applied it between our look-up and insert: theirs stands.
        return Mapping.objects.get(**natural_key), False
    return mapping, True
