"""Staged rollout of an agency template version: chosen locations first, with a preview of what
it would change there, then every location on confirmation; rollback puts each location back on
the version it ran before. Every step is an audit event."""

from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol, TypedDict

from django.core.exceptions import ValidationError
from django.db import transaction

from mappings.entities.base import Rule
from mappings.inheritance import mapping_follow_version, rules_effective, template_save
from mappings.models import Mapping, MappingTemplate, MappingTemplateVersion, Rollout, SourcePayload
from mappings.rules import MappingError, rules_apply
from portal.models import AuditEvent, Location

PREVIEW_RECORDS = 5  # stored payloads re-applied per location


class SampleFetch(Protocol):
    """Reads one sample HighLevel record for a location's flow; raises saying why it cannot."""

    def __call__(self, *, location_id: int, entity: str, operation_key: str) -> dict[str, Any]: ...


class RecordPreview(TypedDict):
    """One record re-applied: (field, before, after) per changed field, or the error."""

    id: str
    changes: list[tuple[str, Any, Any]]
    error: str


class LocationPreview(TypedDict):
    """What the rollout would change at one location."""

    location: Location
    mapping: Mapping
    source: str  # stored, fetched or none
    note: str
    records: list[RecordPreview]
    rules_changed: bool
    from_version: int | None


def _audit(*, rollout: Rollout, user_id: int | None, action: str, detail: dict[str, Any]) -> None:
    AuditEvent.objects.create(
        actor_id=user_id,
        action=f"mapping_template.rollout.{action}",
        target=f"template {rollout.template_id}: {rollout.template.name} v{rollout.version.number}"[
            :255
        ],
        detail={
            "rollout_id": rollout.pk,
            "template_id": rollout.template_id,
            "version": rollout.version.number,
            **detail,
        },
    )


def _values(
    *, mapping: Mapping, rules: list[Rule], null_policy: str, record: object
) -> tuple[dict[str, Any] | None, str]:
    try:
        return rules_apply(
            entity_key=mapping.entity,
            direction=mapping.direction,
            null_policy=null_policy,
            rules=rules,
            record=record,
            time_zone=mapping.location.time_zone,
        ), ""
    except MappingError as exc:
        return None, str(exc)


def rollout_preview(
    *,
    template_id: int,
    version_id: int,
    location_ids: Iterable[int],
    fetch: SampleFetch | None = None,
) -> list[LocationPreview]:
    """What moving each location's mapping to ``version_id`` would change, per location.

    Re-applies the current and the new effective rules to the location's last stored HighLevel
    payloads (up to ``PREVIEW_RECORDS``); where none are stored, to a sample ``fetch`` returns
    (``fetch(location_id=..., entity=..., operation_key=...)`` -> record, raising with a reason).
    Returns a list of dicts: location, source ("stored", "fetched" or "none"), note, records
    ([{"id", "changes": [(field, before, after)], "error"}]), rules_changed.
    """
    version = MappingTemplateVersion.objects.get(pk=version_id, template_id=template_id)
    mappings = Mapping.objects.filter(
        agency_template_id=template_id, location_id__in=location_ids
    ).select_related("location", "template_version")
    report: list[LocationPreview] = []
    for mapping in mappings:
        new_rules = rules_effective(template_rules=version.rules, overrides=mapping.overrides)
        entry: LocationPreview = {
            "location": mapping.location,
            "mapping": mapping,
            "source": "none",
            "note": "",
            "records": [],
            "rules_changed": new_rules != mapping.rules
            or version.null_policy != mapping.null_policy,
            "from_version": mapping.template_version.number if mapping.template_version else None,
        }
        payloads = list(
            SourcePayload.objects.filter(location=mapping.location, entity=mapping.entity).order_by(
                "-seen_at"
            )[:PREVIEW_RECORDS]
        )
        records: list[tuple[str, Any]] = [(p.ghl_id, p.payload) for p in payloads]
        if records:
            entry["source"] = "stored"
        elif fetch is not None:
            try:
                record = fetch(
                    location_id=mapping.location_id,
                    entity=mapping.entity,
                    operation_key=mapping.operation_key,
                )
            except Exception as exc:  # noqa: BLE001  (any reason is shown; the rollout can still go ahead)
                entry["note"] = f"No stored records and no sample: {exc}"
            else:
                records = [(str(record.get("id", "sample")), record)]
                entry["source"] = "fetched"
        for ghl_id, record in records:
            before, error_before = _values(
                mapping=mapping, rules=mapping.rules, null_policy=mapping.null_policy, record=record
            )
            after, error_after = _values(
                mapping=mapping, rules=new_rules, null_policy=version.null_policy, record=record
            )
            changes = []
            if before is not None and after is not None:
                for field in sorted(set(before) | set(after)):
                    if before.get(field, "—") != after.get(field, "—"):
                        changes.append((field, before.get(field, "—"), after.get(field, "—")))
            entry["records"].append(
                {"id": ghl_id, "changes": changes, "error": error_after or error_before}
            )
        report.append(entry)
    return report


def _move(
    *, rollout: Rollout, mappings: Iterable[Mapping], user_id: int | None, reason: str
) -> list[int]:
    previous = dict(rollout.previous)
    moved = []
    for mapping in mappings:
        if str(mapping.pk) not in previous:
            previous[str(mapping.pk)] = mapping.template_version_id
        mapping_follow_version(
            mapping=mapping, version=rollout.version, user_id=user_id, reason=reason
        )
        moved.append(mapping.location_id)
    rollout.previous = previous
    return moved


@transaction.atomic
def rollout_start(*, template_id: int, location_ids: Iterable[int], user_id: int | None) -> Rollout:
    """Put the template's latest version on the chosen locations only. Returns the Rollout."""
    template = MappingTemplate.objects.select_for_update().get(pk=template_id)
    version = template.versions.order_by("-number").first()
    if version is None:
        raise ValidationError("The template has no saved version to roll out.")
    if template.rollouts.filter(status=Rollout.Status.STAGED).exists():
        raise ValidationError(
            "A rollout of this template is still staged: finish it or roll it back first."
        )
    mappings = list(
        Mapping.objects.select_for_update()
        .filter(agency_template=template, location_id__in=location_ids)
        .select_related("location")
    )
    if not mappings:
        raise ValidationError("None of the chosen locations follows this template.")
    rollout = Rollout.objects.create(
        template=template,
        version=version,
        staged_location_ids=sorted(location_ids),
        created_by_id=user_id,
    )
    moved = _move(
        rollout=rollout,
        mappings=mappings,
        user_id=user_id,
        reason=f"rollout {rollout.pk}: template v{version.number} to chosen locations",
    )
    rollout.save()
    _audit(rollout=rollout, user_id=user_id, action="staged", detail={"location_ids": moved})
    return rollout


@transaction.atomic
def rollout_complete(*, rollout_id: int, user_id: int | None) -> Rollout:
    """Put the rollout's version on every location following the template."""
    rollout = (
        Rollout.objects.select_for_update().select_related("template", "version").get(pk=rollout_id)
    )
    if rollout.status != Rollout.Status.STAGED:
        raise ValidationError(f"This rollout is {rollout.get_status_display().lower()}.")
    mappings = list(
        Mapping.objects.select_for_update()
        .filter(agency_template=rollout.template)
        .exclude(template_version=rollout.version)
        .select_related("location")
    )
    moved = _move(
        rollout=rollout,
        mappings=mappings,
        user_id=user_id,
        reason=f"rollout {rollout.pk}: template v{rollout.version.number} everywhere",
    )
    rollout.status = Rollout.Status.COMPLETE
    rollout.save()
    _audit(rollout=rollout, user_id=user_id, action="completed", detail={"location_ids": moved})
    return rollout


@transaction.atomic
def rollout_rollback(*, rollout_id: int, user_id: int | None) -> Rollout:
    """Put every location the rollout moved back on the template version it ran before."""
    rollout = (
        Rollout.objects.select_for_update().select_related("template", "version").get(pk=rollout_id)
    )
    if rollout.status == Rollout.Status.ROLLED_BACK:
        raise ValidationError("This rollout is already rolled back.")
    versions = MappingTemplateVersion.objects.in_bulk(
        [v for v in rollout.previous.values() if v is not None]
    )
    restored: list[int] = []
    for mapping in (
        Mapping.objects.select_for_update()
        .filter(pk__in=[int(pk) for pk in rollout.previous])
        .select_related("location")
    ):
        previous = versions.get(rollout.previous[str(mapping.pk)])
        if previous is None or mapping.agency_template_id != rollout.template_id:
            continue
        mapping_follow_version(
            mapping=mapping,
            version=previous,
            user_id=user_id,
            reason=f"rollback of rollout {rollout.pk}: back to template v{previous.number}",
        )
        restored.append(mapping.location_id)
    rollout.status = Rollout.Status.ROLLED_BACK
    rollout.save()
    # The template goes back too (as a new template version), so a location attached later
    # does not get the rolled-back rules.
    counts = Counter(v for v in rollout.previous.values() if v is not None)
    template_back = None
    if counts:
        back = versions[counts.most_common(1)[0][0]]
        template = rollout.template
        template.rules, template.null_policy = back.rules, back.null_policy
        template_back = template_save(template=template, user_id=user_id).number
    _audit(
        rollout=rollout,
        user_id=user_id,
        action="rolled_back",
        detail={"location_ids": restored, "template_version_now": template_back},
    )
    return rollout
