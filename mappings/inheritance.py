"""Agency templates and per-location overrides: the effective rules, and keeping them versioned.

A rule is keyed by its target field (``phone``; a second rule on the same target ``tags#2``).
A location's ``overrides`` map keys to a rule that replaces the template's rule for that key (or
is added after the template's rules), or to ``None``, which drops the template's rule there.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from mappings.entities.base import Rule
from mappings.models import Mapping, MappingTemplate, MappingTemplateVersion, MappingVersion
from mappings.rules import rules_check
from portal.models import AuditEvent

# A location's overrides by rule key: the rule replacing the template's, or None (dropped).
Overrides = dict[str, Rule | None]


def rule_keys(rules: Iterable[object]) -> list[str]:
    """The key of each rule: its target, with ``#n`` from the second rule on the same target."""
    seen: dict[str, int] = {}
    keys: list[str] = []
    for rule in rules:
        target = rule.get("target") if isinstance(rule, dict) else ""
        target = target if isinstance(target, str) else ""
        seen[target] = seen.get(target, 0) + 1
        keys.append(target if seen[target] == 1 else f"{target}#{seen[target]}")
    return keys


def rules_effective(*, template_rules: list[Rule], overrides: Overrides) -> list[Rule]:
    """The template's rules with the location's overrides applied (template order kept; rules
    for keys the template lacks come last, in the overrides' order)."""
    keys = rule_keys(template_rules)
    result = []
    for key, rule in zip(keys, template_rules, strict=True):
        if key not in overrides:
            result.append(rule)
        elif (override := overrides[key]) is not None:
            result.append(override)
    result.extend(rule for key, rule in overrides.items() if key not in keys and rule is not None)
    return result


def overrides_from_rules(*, template_rules: list[Rule], rules: list[Rule]) -> Overrides:
    """The overrides that turn ``template_rules`` into ``rules`` (as edited at a location)."""
    template = dict(zip(rule_keys(template_rules), template_rules, strict=True))
    edited = dict(zip(rule_keys(rules), rules, strict=True))
    overrides: Overrides = {}
    for key, rule in template.items():
        if key not in edited:
            overrides[key] = None
        elif edited[key] != rule:
            overrides[key] = edited[key]
    overrides.update((key, rule) for key, rule in edited.items() if key not in template)
    return overrides


@transaction.atomic
def template_save(*, template: MappingTemplate, user_id: int | None) -> MappingTemplateVersion:
    """Validate and save an agency template; a changed one gets a new template version.

    Locations do not change: a version reaches them through a rollout (or when attached).
    Returns the latest version. Raises ``ValidationError`` with the rule messages.
    """
    problems = rules_check(
        entity_key=template.entity,
        direction=template.direction,
        null_policy=template.null_policy,
        rules=template.rules,
    )
    if problems:
        raise ValidationError({"rules": problems})
    adding = template.pk is None
    template.save()
    latest = template.versions.order_by("-number").first()
    if latest and (latest.rules, latest.null_policy) == (template.rules, template.null_policy):
        return latest
    version = MappingTemplateVersion.objects.create(
        template=template,
        number=(latest.number + 1) if latest else 1,
        null_policy=template.null_policy,
        rules=template.rules,
        created_by_id=user_id,
    )
    AuditEvent.objects.create(
        actor_id=user_id,
        action="mapping_template.changed",
        target=f"template {template.pk}: {template.name}"[:255],
        detail={
            "template_id": template.pk,
            "agency_id": template.agency_id,
            "version": version.number,
            "created": adding,
            "previous_rules": latest.rules if latest else None,
            "rules": template.rules,
        },
    )
    return version


def mapping_follow_version(
    *, mapping: Mapping, version: MappingTemplateVersion, user_id: int | None, reason: str
) -> MappingVersion:
    """Make ``mapping`` run template ``version`` with its own overrides; saves a new mapping
    version when the effective rules change. Returns the mapping's latest version."""
    from mappings.services import mapping_save

    mapping.template_version = version
    mapping.null_policy = version.null_policy
    mapping.rules = rules_effective(template_rules=version.rules, overrides=mapping.overrides)
    return mapping_save(mapping=mapping, user_id=user_id, reason=reason)


@transaction.atomic
def template_attach(*, template_id: int, location_ids: Iterable[int], user_id: int | None) -> int:
    """Make each location's mapping follow the template's latest version (creating the mapping
    where the location has none for the flow). Returns the number of mappings attached."""
    template = MappingTemplate.objects.get(pk=template_id)
    version = template.versions.order_by("-number").first()
    if version is None:
        raise ValidationError("Save the template first: it has no version to attach.")
    attached = 0
    for location_id in location_ids:
        natural = {
            "location_id": location_id,
            "entity": template.entity,
            "direction": template.direction,
            "operation_key": template.operation_key,
        }
        mapping = Mapping.objects.select_for_update().filter(**natural).first()
        if mapping is None:
            mapping = Mapping(name=template.name, **natural)
        elif mapping.agency_template_id == template.pk:
            continue
        else:
            # Its own rules so far become its overrides over the template.
            mapping.overrides = overrides_from_rules(
                template_rules=version.rules, rules=mapping.rules
            )
        mapping.agency_template = template
        try:
            with transaction.atomic():
                mapping_follow_version(
                    mapping=mapping,
                    version=version,
                    user_id=user_id,
                    reason=f"attached to template {template.name} v{version.number}",
                )
        except IntegrityError:
            continue
        attached += 1
    return attached


def mapping_save_inherited(*, mapping: Mapping, user_id: int | None) -> MappingVersion:
    """Save a location's mapping edited in the editor: what differs from its template version
    becomes its overrides; the rules saved are the effective ones."""
    from mappings.services import mapping_save

    if mapping.template_version is None:
        return mapping_save(mapping=mapping, user_id=user_id)
    template_rules = mapping.template_version.rules
    mapping.overrides = overrides_from_rules(template_rules=template_rules, rules=mapping.rules)
    mapping.rules = rules_effective(template_rules=template_rules, overrides=mapping.overrides)
    return mapping_save(mapping=mapping, user_id=user_id)


@transaction.atomic
def mapping_override_drop(*, mapping_id: int, key: str, user_id: int | None) -> MappingVersion:
    """Drop one override: the location takes the template's rule for ``key`` again."""
    mapping = Mapping.objects.select_for_update().get(pk=mapping_id)
    if key not in mapping.overrides or mapping.template_version is None:
        raise ValidationError(f"{mapping} has no override for {key!r}.")
    mapping.overrides = {k: v for k, v in mapping.overrides.items() if k != key}
    return mapping_follow_version(
        mapping=mapping,
        version=mapping.template_version,
        user_id=user_id,
        reason=f"dropped override {key}",
    )
