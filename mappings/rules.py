"""Field rules: checking them (on save) and applying them (on every record).

A rule is a JSON object::

    {"source": "contact.phone",          # dotted path ("$" is the whole record); a list of
                                         # paths gives a list of values;
                                         # null/"" means no source (a constant from "default")
     "target": "phone",                  # a Rankr field or a HighLevel field, by direction
     "transforms": [{"name": "trim"}, {"name": "phone_e164", "args": {"country": "US"}}],
     "null": "skip",                     # optional; the mapping's null policy otherwise
     "default": null,                    # the value for the "default" null policy
     "invalid": "refuse"}                # HighLevel → Rankr: a value the Rankr field cannot hold
                                         # (too long, wrong type) is refused (the record is
                                         # quarantined) or "truncate"d with a marker (limits.py)

Null policies, for a missing or empty value: ``skip`` leaves the target out (the record keeps what
it had), ``default`` writes the rule's default, ``clear`` empties the target.
"""

import re
from typing import Any

from mappings.entities import ENTITIES, GHL_TO_RANKR, LIST_TARGETS, RANKR_TO_GHL
from mappings.limits import POLICIES as INVALID_POLICIES
from mappings.limits import REFUSE, TRUNCATE, LimitError, value_fit
from mappings.transforms import TRANSFORMS, TransformError, transform_args_check, transform_run
from portal.errors import PortalError

NULL_SKIP = "skip"
NULL_DEFAULT = "default"
NULL_CLEAR = "clear"
NULL_POLICIES = [
    (NULL_SKIP, "Skip: leave the target unchanged"),
    (NULL_DEFAULT, "Default: write the rule's default"),
    (NULL_CLEAR, "Clear: empty the target"),
]
RULE_KEYS = {"source", "target", "transforms", "null", "default", "invalid"}
PATH = re.compile(r"^(\$|[A-Za-z_][A-Za-z0-9_-]*(\.([A-Za-z_][A-Za-z0-9_-]*|\d+))*)$")
ROOT = "$"  # the source path for the whole record


class MappingError(PortalError, ValueError):
    """A rule could not be applied to a record; names the rule (1-based) and its target field."""

    def __init__(self, *, rule_number, target, source, message, value=None):
        self.rule_number = rule_number
        self.target = target
        self.source = source
        self.message = message
        self.value = value  # the value that failed, where there was one
        super().__init__(f"Rule {rule_number} (source {source!r} → field {target!r}): {message}")


def _steps(rule):
    """The rule's transform steps as (name, args) pairs; a bare string is a step without args."""
    for step in rule.get("transforms") or []:
        if isinstance(step, str):
            yield step, {}
        else:
            yield step.get("name"), step.get("args") or {}


# --- checking -----------------------------------------------------------------------------------
def _source_problems(source, roots):
    paths = source if isinstance(source, list) else [source]
    if isinstance(source, list) and not source:
        return ["source: an empty list of paths"]
    problems = []
    for path in paths:
        if not isinstance(path, str) or not PATH.match(path):
            problems.append(
                f"source {path!r} is not a path (names and list indexes joined by dots, "
                "e.g. contact.email or customFields.0.value)"
            )
        elif roots is not None and path != ROOT and path.split(".")[0] not in roots:
            problems.append(f"source {path!r}: no such field (fields: {', '.join(sorted(roots))})")
    return problems


def _rule_problems(rule, *, entity, direction, null_policy):
    if not isinstance(rule, dict):
        return [f"a rule must be an object with source and target, got {rule!r}"]
    problems = [f"unknown key {k!r} (keys: {', '.join(sorted(RULE_KEYS))})"
                for k in sorted(set(rule) - RULE_KEYS)]
    target = rule.get("target")
    targets = entity.targets(direction)
    if not isinstance(target, str) or not target:
        problems.append("target is required")
    elif targets is not None and target not in targets:
        problems.append(f"unknown target field {target!r} (fields: {', '.join(sorted(targets))})")

    invalid = rule.get("invalid", REFUSE)
    if invalid not in dict(INVALID_POLICIES):
        problems.append(f"invalid {invalid!r} is not one of {', '.join(dict(INVALID_POLICIES))}")
    elif "invalid" in rule and direction != GHL_TO_RANKR:
        problems.append("invalid applies to HighLevel → Rankr rules only (Rankr fields' limits)")
    policy = rule.get("null", null_policy)
    if policy not in dict(NULL_POLICIES):
        problems.append(f"null policy {policy!r} is not one of skip, default, clear")
    elif policy == NULL_DEFAULT and "default" not in rule:
        problems.append("the null policy is default but the rule has no default")
    source = rule.get("source")
    if source in (None, ""):
        if policy != NULL_DEFAULT:
            problems.append("a rule without source needs the null policy default (a constant)")
    else:
        problems.extend(_source_problems(source, entity.source_roots(direction)))

    steps = rule.get("transforms") or []
    if not isinstance(steps, list):
        return problems + [f"transforms must be a list, got {steps!r}"]
    for position, step in enumerate(steps, 1):
        if isinstance(step, str):
            name, args = step, {}
        elif isinstance(step, dict) and "name" in step and not set(step) - {"name", "args"}:
            name, args = step["name"], step.get("args") or {}
        else:
            problems.append(f'transform {position}: write {{"name": …, "args": {{…}}}}, got {step!r}')
            continue
        problems.extend(
            f"transform {position}: {p}" for p in transform_args_check(name=name, args=args)
        )
    return problems
    for position, (name, args) in enumerate(_steps(rule), 1):
        problems.extend(f"transform {position}: {p}" for p in transform_args_check(name=name, args=args))
    return problems


def rules_check(*, entity_key: str, direction: str, null_policy: str, rules: Any) -> list[str]:
    """Every problem with a mapping's rules, as messages naming the rule number and field."""
    entity = ENTITIES.get(entity_key)
    if entity is None:
        return [f"Unknown entity {entity_key!r}."]
    if direction not in (GHL_TO_RANKR, RANKR_TO_GHL):
        return [f"Unknown direction {direction!r}."]
    if direction == GHL_TO_RANKR and entity.rankr_model is None:
        return [f"{entity.label} has no Rankr records: it only maps Rankr → HighLevel."]
    if not isinstance(rules, list):
        return ["Rules must be a list of rule objects."]
    messages = []
    seen = {}
    for number, rule in enumerate(rules, 1):
        field = rule.get("target") if isinstance(rule, dict) else None
        label = f"Rule {number} (field {field!r})" if field else f"Rule {number}"
        for problem in _rule_problems(
            rule, entity=entity, direction=direction, null_policy=null_policy
        ):
            messages.append(f"{label}: {problem}")
        if isinstance(field, str) and field:
            if field in seen and field not in LIST_TARGETS:
                messages.append(f"{label}: field {field!r} is already set by rule {seen[field]}")
            seen.setdefault(field, number)
    return messages


# --- applying -----------------------------------------------------------------------------------
_SKIP = object()


def path_get(record: Any, path: str) -> Any:
    """The value at a dotted path, or None where any step is missing ("$": the whole record)."""
    if path == ROOT:
        return record
    value = record
    for segment in path.split("."):
        if isinstance(value, dict):
            value = value.get(segment)
        elif isinstance(value, list) and segment.isdigit():
            index = int(segment)
            value = value[index] if index < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def _empty(value):
    return value is None or value == ""


def _cleared(entity, direction, target):
    if direction == RANKR_TO_GHL:
        return None
    field = entity.rankr_model._meta.get_field(target)
    return None if field.null else field.get_default()


def _rule_value(rule, *, entity, direction, null_policy, record):
    source = rule.get("source")
    if source in (None, ""):
        value = None
    elif isinstance(source, list):
        value = [path_get(record, p) for p in source]
        if all(_empty(v) for v in value):
            value = None
    else:
        value = path_get(record, source)
    for name, args in _steps(rule):
        if _empty(value) and not TRANSFORMS[name].accepts_null:
            break
        try:
            value = transform_run(name=name, args=args, value=value)
        except TransformError as exc:
            raise TransformError(f"{name}: {exc}") from None
    if not _empty(value):
        return value
    policy = rule.get("null", null_policy)
    if policy == NULL_DEFAULT:
        return rule.get("default")
    if policy == NULL_CLEAR:
        return _cleared(entity, direction, rule["target"])
    return _SKIP


def rules_apply(*, entity_key: str, direction: str, null_policy: str, rules: Any,
                record: Any) -> dict[str, Any]:
    """Apply checked rules to ``record`` (a dict); return the target values.

    Raises :class:`MappingError` naming the first rule that cannot apply.
    """
    entity = ENTITIES[entity_key]
    if not isinstance(record, dict):
        raise MappingError(rule_number=0, target="", source="",
                           message=f"the record must be an object, got {type(record).__name__}")
    values = {}
    for number, rule in enumerate(rules, 1):
        try:
            value = _rule_value(
                rule, entity=entity, direction=direction, null_policy=null_policy, record=record
            )
        except TransformError as exc:
            source = rule.get("source")
            raw = path_get(record, source) if isinstance(source, str) and source else None
            if not (direction == GHL_TO_RANKR and rule.get("invalid") == TRUNCATE):
                raise MappingError(
                    rule_number=number, target=rule["target"], source=source, message=str(exc),
                    value=raw,
                ) from None
            value = raw  # "truncate": a value the rule cannot convert is stored as it came, fitted
        if value is _SKIP:
            continue
        target = rule["target"]
        if direction == GHL_TO_RANKR and entity.rankr_model is not None:
            try:
                value = value_fit(field=entity.rankr_model._meta.get_field(target), value=value,
                                  policy=rule.get("invalid", REFUSE))
            except LimitError as exc:
                raise MappingError(rule_number=number, target=target, source=rule.get("source"),
                                   message=str(exc), value=value) from None
        if target in LIST_TARGETS and isinstance(values.get(target), list) and isinstance(value, list):
            values[target] = values[target] + [v for v in value if v not in values[target]]
        else:
            values[target] = value
    return values
