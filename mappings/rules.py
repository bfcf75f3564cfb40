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

import copy
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist

from mappings.entities import ENTITIES, GHL_TO_RANKR, LIST_TARGETS, RANKR_TO_GHL, Entity
from mappings.entities.base import Rule
from mappings.limits import POLICIES as INVALID_POLICIES
from mappings.limits import REFUSE, TRUNCATE, LimitError, rankr_field, value_fit, value_kept
from mappings.transforms import (
    TRANSFORMS,
    StepRun,
    TransformError,
    transform_args_check,
    transform_bind,
    transform_run,
)
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

    def __init__(
        self, *, rule_number: int, target: str, source: object, message: str, value: object = None
    ) -> None:
        self.rule_number = rule_number
        self.target = target
        self.source = source
        self.message = message
        self.value = value  # the value that failed, where there was one
        super().__init__(f"Rule {rule_number} (source {source!r} → field {target!r}): {message}")


def _steps(rule: Rule) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rule's transform steps as (name, args) pairs; a bare string is a step without args."""
    for step in rule.get("transforms") or []:
        if isinstance(step, str):
            yield step, {}
        else:
            yield step.get("name"), step.get("args") or {}


# --- checking -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleProblem:
    """One problem of one rule: ``field`` is the rule's part it concerns (source, target, null,
    default, transforms, transforms.N) or "" for the rule as a whole; ``number`` is 1-based."""

    number: int
    field: str
    message: str


def _source_problems(source: object, roots: list[str] | None) -> list[str]:
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


def _target_hint(entity: Entity, direction: str, target: str) -> str:
    """'Custom field 1' is what the pages call custom_1: say so."""
    if direction != GHL_TO_RANKR or entity.rankr_model is None:
        return ""
    wanted = target.strip().lower()
    for field in entity.rankr_model._meta.concrete_fields:
        if str(field.verbose_name).lower() == wanted:
            return f"; {target!r} is the label of {field.name!r}: write {field.name!r}"
    return ""


def _rule_problems(
    rule: object, *, entity: Entity, direction: str, null_policy: str
) -> list[tuple[str, str]]:
    """(field, message) pairs for one rule."""
    if not isinstance(rule, dict):
        return [("", f"a rule must be an object with source and target, got {rule!r}")]
    problems = [
        ("", f"unknown key {k!r} (keys: {', '.join(sorted(RULE_KEYS))})")
        for k in sorted(set(rule) - RULE_KEYS)
    ]
    target = rule.get("target")
    targets = entity.targets(direction)
    if not isinstance(target, str) or not target:
        problems.append(("target", "target is required"))
    elif targets is not None and target not in targets:
        problems.append(
            (
                "target",
                f"unknown target field {target!r} (fields: "
                f"{', '.join(sorted(targets))}){_target_hint(entity, direction, target)}",
            )
        )

    invalid = rule.get("invalid", REFUSE)
    if invalid not in dict(INVALID_POLICIES):
        problems.append(
            ("invalid", f"invalid {invalid!r} is not one of {', '.join(dict(INVALID_POLICIES))}")
        )
    elif "invalid" in rule and direction != GHL_TO_RANKR:
        problems.append(
            ("invalid", "invalid applies to HighLevel → Rankr rules only (Rankr fields' limits)")
        )
    policy = rule.get("null", null_policy)
    if policy not in dict(NULL_POLICIES):
        problems.append(("null", f"null policy {policy!r} is not one of skip, default, clear"))
    elif policy == NULL_DEFAULT and "default" not in rule:
        problems.append(("default", "the null policy is default but the rule has no default"))
    source = rule.get("source")
    if source in (None, ""):
        if policy != NULL_DEFAULT:
            problems.append(
                ("source", "a rule without source needs the null policy default (a constant)")
            )
    else:
        problems.extend(
            ("source", p) for p in _source_problems(source, entity.source_roots(direction))
        )

    steps = rule.get("transforms") or []
    if not isinstance(steps, list):
        return problems + [("transforms", f"transforms must be a list, got {steps!r}")]
    for position, step in enumerate(steps, 1):
        where = f"transforms.{position}"
        args: object
        if isinstance(step, str):
            name, args = step, {}
        elif isinstance(step, dict) and "name" in step and not set(step) - {"name", "args"}:
            name, args = step["name"], step.get("args") or {}
        else:
            problems.append(
                (where, f'transform {position}: write {{"name": …, "args": {{…}}}}, got {step!r}')
            )
            continue
        problems.extend(
            (where, f"transform {position}: {p}")
            for p in transform_args_check(name=name, args=args)
        )
    return problems


def rules_problems(
    *, entity_key: str, direction: str, null_policy: str, rules: Any
) -> list[RuleProblem]:
    """Every problem with a mapping's rules as :class:`RuleProblem` (number 0: the whole list)."""
    entity = ENTITIES.get(entity_key)
    if entity is None:
        return [RuleProblem(0, "", f"Unknown entity {entity_key!r}.")]
    if direction not in (GHL_TO_RANKR, RANKR_TO_GHL):
        return [RuleProblem(0, "", f"Unknown direction {direction!r}.")]
    if direction == GHL_TO_RANKR and entity.rankr_model is None:
        return [
            RuleProblem(
                0, "", f"{entity.label} has no Rankr records: it only maps Rankr → HighLevel."
            )
        ]
    if not isinstance(rules, list):
        return [RuleProblem(0, "", "Rules must be a list of rule objects.")]
    problems = []
    seen: dict[str, int] = {}
    for number, rule in enumerate(rules, 1):
        field = rule.get("target") if isinstance(rule, dict) else None
        for where, message in _rule_problems(
            rule, entity=entity, direction=direction, null_policy=null_policy
        ):
            problems.append(RuleProblem(number, where, message))
        if isinstance(field, str) and field:
            if field in seen and field not in LIST_TARGETS:
                problems.append(
                    RuleProblem(
                        number, "target", f"field {field!r} is already set by rule {seen[field]}"
                    )
                )
            seen.setdefault(field, number)
    return problems


def rules_check(*, entity_key: str, direction: str, null_policy: str, rules: Any) -> list[str]:
    """Every problem with a mapping's rules, as messages naming the rule number and field."""
    messages = []
    for problem in rules_problems(
        entity_key=entity_key, direction=direction, null_policy=null_policy, rules=rules
    ):
        if problem.number == 0:
            messages.append(problem.message)
            continue
        rule = rules[problem.number - 1]
        field = rule.get("target") if isinstance(rule, dict) else None
        label = f"Rule {problem.number} (field {field!r})" if field else f"Rule {problem.number}"
        messages.append(f"{label}: {problem.message}")
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


def _empty(value: object) -> bool:
    return value is None or value == ""


def _cleared(entity: Entity, direction: str, target: str) -> object:
    if direction == RANKR_TO_GHL or entity.rankr_model is None:
        return None
    field = rankr_field(entity.rankr_model, target)
    return None if field.null else field.get_default()


def _source_value(rule: Rule, record: object) -> Any:
    source = rule.get("source")
    if source in (None, ""):
        return None
    if isinstance(source, list):
        value = [path_get(record, p) for p in source]
        return None if all(_empty(v) for v in value) else value
    return path_get(record, source)


def _rule_value(
    rule: Rule,
    *,
    entity: Entity,
    direction: str,
    null_policy: str,
    record: object,
    time_zone: str | None = None,
) -> tuple[Any, Any, str]:
    """(source value, result, outcome); result is _SKIP when the target is left out."""
    found = value = _source_value(rule, record)
    for name, args in _steps(rule):
        if _empty(value) and not TRANSFORMS[name].accepts_null:
            break
        try:
            value = transform_run(name=name, args=args, value=value, time_zone=time_zone)
        except TransformError as exc:
            raise TransformError(f"{name}: {exc}") from None
    if not _empty(value):
        return found, value, "set"
    policy = rule.get("null", null_policy)
    if policy == NULL_DEFAULT:
        return found, rule.get("default"), "default"
    if policy == NULL_CLEAR:
        return found, _cleared(entity, direction, rule["target"]), "cleared"
    return found, _SKIP, "skipped"


def _record_problem(record: object) -> None:
    if not isinstance(record, dict):
        raise MappingError(
            rule_number=0,
            target="",
            source="",
            message=f"the record must be an object, got {type(record).__name__}",
        )


def _merge(values: dict[str, Any], target: str, value: object) -> None:
    if target in LIST_TARGETS and isinstance(values.get(target), list) and isinstance(value, list):
        values[target] = values[target] + [v for v in value if v not in values[target]]
    else:
        values[target] = value


def rules_apply(
    *,
    entity_key: str,
    direction: str,
    null_policy: str,
    rules: Any,
    record: Any,
    time_zone: str | None = None,
) -> dict[str, Any]:
    """Apply checked rules to ``record`` (a dict); return the target values.

    ``time_zone`` (IANA name, normally the location's) is where date transforms place naive
    HighLevel dates unless a rule gives its own ``assume_tz``; None means UTC.
    Raises :class:`MappingError` naming the first rule that cannot apply.
    Applying many records with the same rules: :func:`rules_compile` once, then call it.
    """
    apply = rules_compile(
        entity_key=entity_key, direction=direction, null_policy=null_policy, rules=rules
    )
    return apply(record, time_zone)


CompiledRules = Callable[[Any, str | None], dict[str, Any]]


def rules_compile(
    *, entity_key: str, direction: str, null_policy: str, rules: Any
) -> CompiledRules:
    """Checked rules as one plain function ``(record, time_zone) -> target values``.

    Everything that does not depend on the record is decided once here (paths split, transforms
    looked up, each rule's null policy, the Rankr field its value must fit); the function then
    does what :func:`rules_apply` did rule by rule, with the same results and errors.
    Compiled once per content: the same entity, direction, null policy and rules (a version
    loaded again by the next job, locations sharing a template's rules) get the same function;
    changed rules are other content, compiled anew. The function holds its own copy of the rules.
    """
    try:
        key = _content_key((entity_key, direction, null_policy, rules))
    except TypeError:  # not plain JSON data (an object, a key that is not text): not kept
        return _rules_compile(entity_key, direction, null_policy, copy.deepcopy(rules))
    with _COMPILED_LOCK:
        compiled = _COMPILED.pop(key, None)
    if compiled is None:
        compiled = _rules_compile(entity_key, direction, null_policy, copy.deepcopy(rules))
    with _COMPILED_LOCK:
        _COMPILED[key] = compiled  # the most recently used last
        while len(_COMPILED) > COMPILED_KEPT:
            del _COMPILED[next(iter(_COMPILED))]
    return compiled


COMPILED_KEPT = 512  # compiled rule sets kept (a few KB each)
_COMPILED: dict[Any, CompiledRules] = {}
_COMPILED_LOCK = threading.Lock()
_JSON_SCALARS = (str, int, float, bool, type(None))


def _content_key(value: Any) -> Any:
    """A hashable key equal only for the same JSON content, types and order included (True is
    not 1, a value map's order shows in its error message); TypeError for anything else."""
    kind = type(value)
    if kind is dict:
        if not all(type(k) is str for k in value):
            raise TypeError("keys must be text")
        return (dict, tuple((k, _content_key(v)) for k, v in value.items()))
    if kind is list or kind is tuple:
        return (kind, tuple(_content_key(v) for v in value))
    if kind is float:
        return (float, repr(value))  # -0.0 is not 0.0; nan is itself
    if kind in _JSON_SCALARS:
        return (kind, value)
    raise TypeError(f"{kind.__name__} is not JSON data")


def _rules_compile(entity_key: str, direction: str, null_policy: str, rules: Any) -> CompiledRules:
    entity = ENTITIES[entity_key]
    steps = [
        _rule_compile(number, rule, entity=entity, direction=direction, null_policy=null_policy)
        for number, rule in enumerate(rules, 1)
    ]

    def apply(record: Any, time_zone: str | None = None) -> dict[str, Any]:
        _record_problem(record)
        values: dict[str, Any] = {}
        for step in steps:
            step(record, time_zone, values)
        return values

    return apply


def _getter(source: object) -> Callable[[Any], Any]:
    """``_source_value`` for one rule's source, its path split once."""
    if source in (None, ""):
        return lambda record: None
    if isinstance(source, list):
        getters = [_getter(p) for p in source]

        def several(record: Any) -> Any:
            value = [get(record) for get in getters]
            return None if all(_empty(v) for v in value) else value

        return several
    path = str(source)
    if path == ROOT:
        return lambda record: record
    segments = [(s, int(s) if s.isdigit() else None) for s in path.split(".")]
    if len(segments) == 1 and segments[0][1] is None:
        key = segments[0][0]
        return lambda record: record.get(key) if isinstance(record, dict) else None

    def walk(record: Any) -> Any:
        value = record
        for segment, index in segments:
            if isinstance(value, dict):
                value = value.get(segment)
            elif isinstance(value, list) and index is not None:
                value = value[index] if index < len(value) else None
            else:
                return None
            if value is None:
                return None
        return value

    return walk


def _never(value: Any) -> bool:
    return False


def _unknown(name: Any, args: Any) -> StepRun:
    """A step naming no transform (rules not checked): fails where it runs, as transform_run."""
    return lambda value, time_zone: transform_run(
        name=name, args=args, value=value, time_zone=time_zone
    )


def _rule_compile(
    number: int, rule: Rule, *, entity: Entity, direction: str, null_policy: str
) -> Callable[[Any, str | None, dict[str, Any]], None]:
    """One rule as a step ``(record, time_zone, values)`` that merges its target's value."""
    get = _getter(rule.get("source"))
    source = rule.get("source")
    target = rule["target"]
    transforms = [
        (
            name,
            transform_bind(name=name, args=args) if name in TRANSFORMS else _unknown(name, args),
            TRANSFORMS[name].accepts_null if name in TRANSFORMS else None,
        )
        for name, args in _steps(rule)
    ]
    policy = rule.get("null", null_policy)
    default = rule.get("default")
    invalid = rule.get("invalid", REFUSE)
    truncating = direction == GHL_TO_RANKR and invalid == TRUNCATE
    model = entity.rankr_model if direction == GHL_TO_RANKR else None
    field: Any = None
    kept: Callable[[Any], bool] = _never  # values value_fit would give back as they are
    if model is not None:
        try:
            field = rankr_field(model, target)
        except FieldDoesNotExist:
            field = None  # looked up (and raised) again when a value reaches it, as before
        else:
            kept = value_kept(field)
    listing = target in LIST_TARGETS

    def step(record: Any, time_zone: str | None, values: dict[str, Any]) -> None:
        value = get(record)
        try:
            for name, run, accepts_null in transforms:
                if (value is None or value == "") and not (
                    accepts_null if accepts_null is not None else TRANSFORMS[name].accepts_null
                ):
                    break
                try:
                    value = run(value, time_zone)
                except TransformError as exc:
                    raise TransformError(f"{name}: {exc}") from None
        except TransformError as exc:
            raw = path_get(record, source) if isinstance(source, str) and source else None
            if not truncating:
                raise MappingError(
                    rule_number=number, target=target, source=source, message=str(exc), value=raw
                ) from None
            value = raw  # "truncate": a value the rule cannot convert is stored as it came
        else:
            if value is None or value == "":
                if policy == NULL_DEFAULT:
                    value = default
                elif policy == NULL_CLEAR:
                    value = _cleared(entity, direction, target)
                else:
                    return
        if model is not None and not kept(value):
            try:
                value = value_fit(
                    field=field if field is not None else rankr_field(model, target),
                    value=value,
                    policy=invalid,
                )
            except LimitError as exc:
                raise MappingError(
                    rule_number=number,
                    target=target,
                    source=source,
                    message=str(exc),
                    value=value,
                ) from None
        if listing and isinstance(value, list) and isinstance(values.get(target), list):
            values[target] = values[target] + [v for v in value if v not in values[target]]
        else:
            values[target] = value

    return step


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule did to one record, for the preview."""

    number: int
    source: object
    target: str
    found: object  # the value read at the source path(s)
    value: object  # what the target gets (None when skipped or failed)
    outcome: str  # set, default, cleared, skipped or error
    error: str = ""


def rules_trace(
    *,
    entity_key: str,
    direction: str,
    null_policy: str,
    rules: Any,
    record: Any,
    time_zone: str | None = None,
) -> tuple[dict[str, Any], list[RuleOutcome]]:
    """Apply ``rules`` (checked) to ``record`` rule by rule: (values, [RuleOutcome]).

    Unlike :func:`rules_apply` a failing rule does not stop the others: it is reported as an
    ``error`` outcome and leaves its target out, so a preview shows every rule's outcome.
    """
    entity = ENTITIES[entity_key]
    _record_problem(record)
    values: dict[str, Any] = {}
    outcomes: list[RuleOutcome] = []
    for number, rule in enumerate(rules, 1):
        target = rule["target"]
        try:
            found, value, outcome = _rule_value(
                rule,
                entity=entity,
                direction=direction,
                null_policy=null_policy,
                record=record,
                time_zone=time_zone,
            )
        except TransformError as exc:
            found = _source_value(rule, record)
            outcomes.append(
                RuleOutcome(number, rule.get("source"), target, found, None, "error", str(exc))
            )
            continue
        if value is _SKIP:
            outcomes.append(RuleOutcome(number, rule.get("source"), target, found, None, outcome))
            continue
        _merge(values, target, value)
        outcomes.append(RuleOutcome(number, rule.get("source"), target, found, value, outcome))
    return values, outcomes
