"""Mapping services: save with a new version and an audit event, apply, apply a template."""

import copy
from dataclasses import dataclass, field
from datetime import datetime
from datetime import timezone as dt_timezone

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from mappings.entities import ENTITIES, GHL_TO_RANKR
from mappings.flow_templates import FLOW_TEMPLATES
from mappings.models import Mapping, MappingVersion
from mappings.rules import MappingError, path_get, rules_apply, rules_check
from portal.models import AuditEvent
from rankr.services import RecordUpsert, UpsertCounts, record_fingerprint, record_upsert_many

__all__ = [
    "MappingError",
    "mapping_apply",
    "mapping_check",
    "mapping_page_apply",
    "mapping_save",
    "mapping_template_apply",
    "mapping_version_latest",
]


def mapping_check(*, entity, direction, null_policy, rules):
    """The rules' problems as messages ("Rule 2 (field 'phone'): …"); empty when fine."""
    return rules_check(entity_key=entity, direction=direction, null_policy=null_policy, rules=rules)


def _snapshot(mapping):
    return {
        "entity": mapping.entity,
        "direction": mapping.direction,
        "null_policy": mapping.null_policy,
        "rules": mapping.rules,
    }


@transaction.atomic
def mapping_save(*, mapping, user_id):
    """Validate and save ``mapping``; record a new version and a "mapping.changed" audit event.

    A save that changes nothing the rules depend on (entity, direction, null policy, rules) makes
    no new version. Returns the mapping's latest version. Raises ``ValidationError`` with the
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
            "previous_rules": latest.rules if latest else None,
            "rules": mapping.rules,
        },
    )
    return version


def mapping_version_latest(*, mapping_id):
    """The version the sync applies now (None for a mapping never saved through mapping_save)."""
    return MappingVersion.objects.filter(mapping_id=mapping_id).order_by("-number").first()


def mapping_apply(*, mapping_version, record):
    """The target values of ``record`` (a dict) under ``mapping_version``'s rules.

    Raises :class:`MappingError` naming the rule and field that could not apply.
    """
    return rules_apply(
        entity_key=mapping_version.entity,
        direction=mapping_version.direction,
        null_policy=mapping_version.null_policy,
        rules=mapping_version.rules,
        record=record,
    )


@dataclass(frozen=True)
class PageResult:
    counts: UpsertCounts
    # (HighLevel id or position, message) for each record that could not be mapped.
    failed: list = field(default_factory=list)


def record_changed_at(*, entity, record, event_time=None):
    """HighLevel's time of this version of ``record``: its modification time, else ``event_time``."""
    for path in ENTITIES[entity].modified_paths:
        stamp = time_parse(path_get(record, path))
        if stamp is not None:
            return stamp
    return time_parse(event_time)


def time_parse(value):
    """An aware datetime from HighLevel's ISO 8601 text or epoch milliseconds; None otherwise."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value / 1000, tz=dt_timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    parsed = parse_datetime(value.strip().replace("Z", "+00:00"))
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt_timezone.utc)


def mapping_page_apply(*, mapping_version, location_id, records, event_time=None):
    """Map a page of HighLevel records into Rankr records in one transaction.

    Each record's fingerprint covers its data *and* the mapping version, so unchanged data is
    skipped but a new mapping version re-applies everything. Each carries its version time
    (:func:`record_changed_at`; ``event_time`` is the webhook's timestamp), so an older version
    never overwrites a newer one. A record that cannot be mapped (a MappingError, or no id) is
    left out and reported in ``failed``; the rest are written.
    """
    entity = ENTITIES[mapping_version.entity]
    if mapping_version.direction != GHL_TO_RANKR or entity.rankr_model is None:
        raise ValueError(f"{mapping_version} does not map HighLevel records into Rankr.")
    items, failed = [], []
    for position, record in enumerate(records):
        ghl_id = path_get(record, entity.id_path) if isinstance(record, dict) else None
        if not isinstance(ghl_id, str) or not ghl_id:
            failed.append((f"#{position}", f"the record has no {entity.id_path!r}"))
            continue
        try:
            values = mapping_apply(mapping_version=mapping_version, record=record)
        except MappingError as exc:
            failed.append((ghl_id, str(exc)))
            continue
        fingerprint = record_fingerprint(data={"v": mapping_version.pk, "record": record})
        items.append(RecordUpsert(
            ghl_id=ghl_id, values=values, fingerprint=fingerprint,
            changed_at=record_changed_at(entity=mapping_version.entity, record=record,
                                         event_time=event_time),
            tiebreak=record_fingerprint(data=record),
        ))
    counts = record_upsert_many(kind=entity.rankr_kind, location_id=location_id, items=items)
    return PageResult(counts=counts, failed=failed)


class TemplateError(ValueError):
    pass


def mapping_template_apply(*, template_key, location_id, user_id):
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
