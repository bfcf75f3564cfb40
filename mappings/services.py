"""Mapping services: save with a new version and an audit event, apply, apply a template."""

import copy

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from mappings.flow_templates import FLOW_TEMPLATES
from mappings.models import Mapping, MappingVersion
from mappings.rules import MappingError, rules_apply, rules_check
from portal.models import AuditEvent

__all__ = [
    "MappingError",
    "mapping_apply",
    "mapping_check",
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
