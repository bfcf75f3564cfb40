"""The table editor for a mapping's rules: rules <-> one form row per rule, losslessly.

The rules stay JSON (``Mapping.rules``); the editor is a view of them. ``editor_rows`` turns
rules into rows for the template and ``editor_rules_from_post`` builds the rules back from the
submitted row fields. Each row carries its original rule (``orig``), so what a person did not
change comes back byte for byte: key order, ``"trim"`` vs ``{"name": "trim"}``, a ``null``
source, even keys the checker will refuse. Values are shown as text: strings as typed, anything
else as JSON (``{"a": 1}``, ``true``, ``"123"`` for a string that looks like JSON).

Field names, for a prefix ``rules``: ``rules-count``; per row ``rules-3-source``, ``-target``,
``-null``, ``-default``, ``-orig``, ``-steps``; per transform step ``rules-3-t0-name``,
``rules-3-t0-orig``, ``rules-3-t0-a-<arg>``. A source ``cf:<id>`` (a HighLevel custom field
picked from the list) becomes source ``customFields`` with a ``custom_field`` step.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mappings.rules import RuleProblem, _steps
from mappings.transforms import TRANSFORMS, Arg

TEXT_ONLY = (str,)
FormData = Mapping[str, str]  # the submitted form (a QueryDict reads as one)
CUSTOM_FIELD_PREFIX = "cf:"


@dataclass
class ArgField:
    name: str
    text: str
    kind: str  # text, json, bool or choice
    required: bool
    choices: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)


@dataclass
class StepRow:
    position: int
    name: str
    args: list[ArgField]
    orig: str
    errors: list[str] = field(default_factory=list)

    @property
    def unknown(self) -> bool:
        return bool(self.name) and self.name not in TRANSFORMS


@dataclass
class Row:
    index: int
    source: str
    target: str
    null: str
    default: str
    steps: list[StepRow]
    orig: str
    # rule part -> messages ("" for the whole rule)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def invalid(self) -> bool:
        return bool(self.errors) or any(
            step.errors or any(arg.errors for arg in step.args) for step in self.steps
        )


def value_text(value: object) -> str:
    """A value as the text a person edits: strings bare unless they would read as JSON."""
    if isinstance(value, str):
        if value == "":
            return '""'
        try:
            json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False)


def text_value(text: str) -> Any:
    """The value a person's text means (inverse of :func:`value_text`)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _source_text(source: object) -> str:
    if source is None:
        return ""
    if isinstance(source, list):
        return ", ".join(str(s) for s in source)
    return str(source)


def _arg_kind(spec: Arg) -> str:
    if spec.choices:
        return "choice"
    if spec.types == (bool,):
        return "bool"
    if spec.types == TEXT_ONLY:
        return "text"
    return "json"


def _arg_text(spec: Arg, value: object) -> str:
    if _arg_kind(spec) in ("text", "choice") and isinstance(value, str):
        return value
    return value_text(value)


def _step_row(position: int, step: object) -> StepRow:
    name, args = next(_steps({"transforms": [step]}), (None, {}))
    transform = TRANSFORMS.get(name) if isinstance(name, str) else None
    fields = []
    if transform is not None and isinstance(args, dict):
        for arg, spec in transform.args.items():
            text = _arg_text(spec, args[arg]) if arg in args else ""
            fields.append(ArgField(arg, text, _arg_kind(spec), spec.required, spec.choices))
    return StepRow(
        position,
        name if isinstance(name, str) else "",
        fields,
        json.dumps(step, ensure_ascii=False),
    )


def editor_rows(rules: Iterable[object]) -> list[Row]:
    """One :class:`Row` per rule (rules that are not objects are shown as an empty row that
    keeps the original in ``orig``)."""
    rows: list[Row] = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            rows.append(Row(index, "", "", "", "", [], json.dumps(rule, ensure_ascii=False)))
            continue
        raw_steps = rule.get("transforms")
        target, null = rule.get("target"), rule.get("null")
        steps = (
            [_step_row(p, s) for p, s in enumerate(raw_steps)]
            if isinstance(raw_steps, list)
            else []
        )
        rows.append(
            Row(
                index=index,
                source=_source_text(rule.get("source")),
                target=target if isinstance(target, str) else "",
                null=null if isinstance(null, str) else "",
                default=value_text(rule["default"]) if "default" in rule else "",
                steps=steps,
                orig=json.dumps(rule, ensure_ascii=False),
            )
        )
    return rows


# --- back from the form ----------------------------------------------------------------------
def _loads(text: str, fallback: object) -> Any:
    try:
        return json.loads(text) if text else fallback
    except ValueError:
        return fallback


def _parse_source(text: str, orig: dict[str, Any]) -> str | list[str] | None:
    text = text.strip()
    if not text:
        return orig.get("source") if orig.get("source") in (None, "") else None
    if "," in text or isinstance(orig.get("source"), list):
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _parse_step(data: FormData, key: str) -> object:
    name = (data.get(f"{key}-name") or "").strip()
    if not name:
        return None
    orig = _loads(data.get(f"{key}-orig", ""), None)
    transform = TRANSFORMS.get(name)
    orig_name, orig_args = next(_steps({"transforms": [orig]}), (None, {})) if orig else (None, {})
    args: dict[str, Any] = {}
    if orig_name == name and isinstance(orig_args, dict):
        # Arguments the registry does not know are kept for the checker to name.
        args = {k: v for k, v in orig_args.items() if transform is None or k not in transform.args}
    for arg, spec in transform.args.items() if transform else ():
        text = data.get(f"{key}-a-{arg}", "")
        if text == "":
            continue
        kind = _arg_kind(spec)
        args[arg] = text if kind in ("text", "choice") else text_value(text)
    if orig is not None and orig_name == name and (orig_args or {}) == args:
        return orig
    return {"name": name, "args": args} if args else {"name": name}


def _rule_from_post(data: FormData, prefix: str) -> object:
    orig = _loads(data.get(f"{prefix}-orig", ""), {})
    if not isinstance(orig, dict):
        if not any(data.get(f"{prefix}-{part}") for part in ("source", "target")):
            return orig  # a non-object rule nobody touched: keep it for the checker to name
        orig = {}
    rule = dict(orig) if orig else {"source": None, "target": ""}
    source_text = data.get(f"{prefix}-source", "")
    steps: list[object] = []
    if source_text.strip().startswith(CUSTOM_FIELD_PREFIX):
        field_id = source_text.strip()[len(CUSTOM_FIELD_PREFIX) :]
        source_text = "customFields"
        steps.append({"name": "custom_field", "args": {"id": field_id}})
    rule["source"] = _parse_source(source_text, orig)
    if "source" not in orig and rule["source"] is None and orig:
        del rule["source"]
    rule["target"] = data.get(f"{prefix}-target", "").strip()
    count = _int(data.get(f"{prefix}-steps"))
    for position in range(count + 1):  # one spare slot: the "add a transform" select
        step = _parse_step(data, f"{prefix}-t{position}")
        if step is not None:
            steps.append(step)
    if steps or "transforms" in orig or not orig:
        rule["transforms"] = steps
    null = data.get(f"{prefix}-null", "").strip()
    if null:
        rule["null"] = null
    else:
        rule.pop("null", None)
    default = data.get(f"{prefix}-default", "")
    if default != "":
        rule["default"] = text_value(default)
    else:
        rule.pop("default", None)
    return rule


def _int(text: str | None) -> int:
    try:
        return max(0, int(text or 0))
    except ValueError:
        return 0


def editor_rules_from_post(data: FormData, *, prefix: str = "rules") -> list[object]:
    """The rules the table's fields describe, in row order."""
    return [
        _rule_from_post(data, f"{prefix}-{i}") for i in range(_int(data.get(f"{prefix}-count")))
    ]


def editor_op(rules: Iterable[object], op: str | None) -> list[object]:
    """Apply a table operation: ``add``, ``delete:<i>``, ``up:<i>``, ``down:<i>`` (0-based)."""
    rules = list(rules)
    name, _, arg = (op or "").partition(":")
    if name == "add":
        rules.append({"source": None, "target": "", "transforms": []})
        return rules
    try:
        index = int(arg)
    except ValueError:
        return rules
    if not 0 <= index < len(rules):
        return rules
    if name == "delete":
        del rules[index]
    elif name == "up" and index > 0:
        rules[index - 1], rules[index] = rules[index], rules[index - 1]
    elif name == "down" and index < len(rules) - 1:
        rules[index + 1], rules[index] = rules[index], rules[index + 1]
    return rules


def editor_rows_with_problems(
    rules: Iterable[object], problems: Iterable[RuleProblem]
) -> list[Row]:
    """Rows with each :class:`~mappings.rules.RuleProblem` put on its row, step and argument."""
    rows = editor_rows(rules)
    for problem in problems:
        if not 1 <= problem.number <= len(rows):
            continue
        row = rows[problem.number - 1]
        part = problem.field
        if part.startswith("transforms."):
            position = int(part.split(".")[1]) - 1
            if 0 <= position < len(row.steps):
                step = row.steps[position]
                arg = next(
                    (a for a in step.args if f"argument {a.name!r}" in problem.message), None
                )
                (arg.errors if arg else step.errors).append(problem.message)
                continue
            part = "transforms"
        row.errors.setdefault(part, []).append(problem.message)
    return rows


def json_error_text(text: str) -> str:
    """Where a JSON text breaks, in words ("line 3, column 14: Expecting ',' delimiter"), or ""."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        line = text.splitlines()[exc.lineno - 1] if text.splitlines() else ""
        return (
            f"The JSON is not valid at line {exc.lineno}, column {exc.colno}: {exc.msg}. "
            f"Line {exc.lineno} reads: {line.strip()[:120]}"
        )
    return ""
