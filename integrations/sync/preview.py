"""Preview: what rules (saved or not) make of one sample record, rule by rule.

The sample is pasted JSON, or fetched by :func:`preview_sample_fetch` (from HighLevel through the
operation catalog and the location's connection, or from Rankr for a Rankr → HighLevel mapping).
"""

import json
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.core.serializers.json import DjangoJSONEncoder

from mappings.entities import ENTITIES, RANKR_TO_GHL
from mappings.models import Mapping, MappingVersion
from mappings.rules import MappingError, rules_check, rules_trace
from mappings.services import mapping_version_latest
from portal.errors import PortalError
from portal.models import Location


class PreviewSampleUnavailable(PortalError):
    """No sample record could be fetched; the message says why and what to do instead."""


def preview_sample_fetch(
    *,
    mapping_id: int | None = None,
    location_id: int | None = None,
    entity: str = "",
    direction: str = "",
    operation_key: str = "",
) -> dict[str, Any]:
    """Fetch one real sample record for a mapping (saved: ``mapping_id``; unsaved: the rest).

    HighLevel → Rankr: a record read from the location's HighLevel connection (through the
    operation catalog). Rankr → HighLevel: the location's most recent Rankr record of the entity,
    as the mapping reads it. Raises :class:`PreviewSampleUnavailable` saying why not.
    """
    from integrations.catalog.calls import OperationInvalid, OperationRefused
    from integrations.ghl.errors import GhlError
    from integrations.sync.outbound import rankr_record_dict
    from integrations.sync.samples import sample_record_fetch
    from integrations.sync.targets import EventError

    if mapping_id is not None:
        mapping = Mapping.objects.get(pk=mapping_id)
        location_id, entity = mapping.location_id, mapping.entity
        direction, operation_key = mapping.direction, mapping.operation_key
    if location_id is None:
        raise PreviewSampleUnavailable("Choose a location to fetch a sample from.")
    location = Location.objects.get(pk=location_id)
    spec = ENTITIES[entity]
    if direction == RANKR_TO_GHL:
        model = spec.rankr_model
        record = (
            model.objects.filter(location_id=location_id).order_by("-updated_at").first()
            if model is not None
            else None
        )
        if record is None:
            raise PreviewSampleUnavailable(
                f"{location} has no Rankr {spec.label.lower()} yet; paste a sample "
                "record as JSON instead."
            )
        return rankr_record_dict(record)
    try:
        return sample_record_fetch(
            location_id=location_id, entity=entity, operation_key=operation_key
        )
    except (EventError, GhlError, OperationRefused, OperationInvalid) as exc:
        raise PreviewSampleUnavailable(
            f"No sample from HighLevel for {location}: {exc} Paste a sample record as JSON instead."
        ) from None


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)


class OutcomeText(TypedDict):
    """One rule's outcome (:class:`mappings.rules.RuleOutcome`) as the page shows it."""

    number: int
    source: object
    target: str
    found: str  # JSON
    value: str  # JSON, "" when skipped or failed
    outcome: str
    error: str


@dataclass
class Preview:
    before: str
    after: str = ""
    error: str = ""
    version: MappingVersion | None = None
    time_zone: str = "UTC"
    outcomes: list[OutcomeText] = field(default_factory=list)


def preview_rules(
    *,
    entity: str,
    direction: str,
    null_policy: str,
    rules: Any,
    sample: Any,
    time_zone: str = "UTC",
) -> Preview:
    """Before and after for ``sample`` under ``rules`` (unsaved ones too), with each rule's
    outcome. Never raises for bad rules or data: the problems come back in ``error``."""
    result = Preview(before=_pretty(sample), time_zone=time_zone)
    problems = rules_check(
        entity_key=entity, direction=direction, null_policy=null_policy, rules=rules
    )
    if problems:
        result.error = "Fix the rules first: " + " · ".join(problems)
        return result
    try:
        after, outcomes = rules_trace(
            entity_key=entity,
            direction=direction,
            null_policy=null_policy,
            rules=rules,
            record=sample,
            time_zone=time_zone,
        )
    except MappingError as exc:
        result.error = str(exc)
        return result
    result.outcomes = [
        {
            "number": o.number,
            "source": o.source if o.source not in (None, "") else "(constant)",
            "target": o.target,
            "found": json.dumps(o.found, cls=DjangoJSONEncoder, ensure_ascii=False),
            "value": json.dumps(o.value, cls=DjangoJSONEncoder, ensure_ascii=False)
            if o.outcome not in ("skipped", "error")
            else "",
            "outcome": o.outcome,
            "error": o.error,
        }
        for o in outcomes
    ]
    failed = [o for o in outcomes if o.outcome == "error"]
    if failed:
        # A sync fails the whole record: there is no "after" to show, only each rule's outcome.
        first = MappingError(
            rule_number=failed[0].number,
            target=failed[0].target,
            source=failed[0].source,
            message=failed[0].error,
        )
        more = (
            f" ({len(failed) - 1} more rule{'s' if len(failed) > 2 else ''} failed too)"
            if len(failed) > 1
            else ""
        )
        result.error = f"{first}{more}. A sync would report this record as failed."
        return result
    result.after = _pretty(after)
    return result


def preview_render(*, mapping_id: int, sample: Any) -> Preview:
    """Before and after for ``sample`` under the mapping's latest saved version."""
    version = mapping_version_latest(mapping_id=mapping_id)
    if version is None:
        return Preview(
            before=_pretty(sample), error="This mapping has no saved version yet: save it first."
        )
    time_zone = (
        Location.objects.filter(pk=version.mapping.location_id)
        .values_list("time_zone", flat=True)
        .first()
        or "UTC"
    )
    result = preview_rules(
        entity=version.entity,
        direction=version.direction,
        null_policy=version.null_policy,
        rules=version.rules,
        sample=sample,
        time_zone=time_zone,
    )
    result.version = version
    return result
