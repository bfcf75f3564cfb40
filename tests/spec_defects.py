"""The one table of HighLevel spec defects the tests step around (from specs/highlevel/DEFECTS.md).

Most defects in DEFECTS.md are repaired where the specs are read; the ones here cannot be: no
instance satisfies the spec as written, so a test that judges requests or answers by the spec
must leave those operations out, and says why with the defect's own row of DEFECTS.md.
``tests/test_spec_defects.py`` checks this table against DEFECTS.md and the registry.
"""

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from integrations.catalog.spec_files import schema_items_untyped_arrays, schema_object_typed_string

SPECS = Path(__file__).resolve().parent.parent / "specs" / "highlevel"
DEFECTS_MD = SPECS / "DEFECTS.md"
METHODS = ("get", "post", "put", "patch", "delete")


def _has(pattern, node, doc, seen=frozenset()) -> bool:
    """Whether ``node`` (a schema or part of an operation, local refs followed) has ``pattern``."""
    if isinstance(node, list):
        return any(_has(pattern, item, doc, seen) for item in node)
    if not isinstance(node, dict):
        return False
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref.startswith("#/") and ref not in seen:
            target = doc
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            return _has(pattern, target, doc, seen | {ref})
        return False  # the common schemas are the error shapes: neither defect is there
    if pattern(node):
        return True
    return any(_has(pattern, v, doc, seen) for k, v in node.items() if k != "example")


@cache
def operations_with(pattern) -> frozenset[str]:
    """The operations whose requests or answers carry ``pattern``, found in the specs."""
    keys = set()
    for spec in sorted((SPECS / "apps").glob("*.json")):
        doc = json.loads(spec.read_text())
        for path, item in doc.get("paths", {}).items():
            for method in METHODS:
                op = item.get(method)
                if op and _has(pattern, [op.get("requestBody", {}), op.get("responses", {})], doc):
                    keys.add(f"{method.upper()} {path}")
    return frozenset(keys)


_CALENDAR_WRITES = frozenset({"POST /calendars/", "PUT /calendars/{calendarId}"})


@dataclass(frozen=True)
class SpecDefect:
    number: int  # the row of DEFECTS.md
    operations: frozenset[str]  # registry keys, "METHOD /path"
    bad_requests: bool  # no request carrying the affected property passes the spec
    bad_answers: bool  # no answer carrying it passes the spec
    # Only strict OpenAPI tools (openapi-core) trip on it; the portal's own checks pass.
    strict_tools_only: bool = False
    # Operations where the affected property is required, so even a minimal request carries it.
    required_in: frozenset[str] = frozenset()

    @property
    def reason(self) -> str:
        return f"spec defect {self.number} (specs/highlevel/DEFECTS.md): {defect_text(self.number)}"


SPEC_DEFECTS = (
    SpecDefect(
        4,
        frozenset(
            {
                "GET /store/shipping-zone",
                "GET /store/shipping-zone/{shippingZoneId}",
                "POST /store/shipping-zone",
                "PUT /store/shipping-zone/{shippingZoneId}",
                "GET /store/store-setting",
                "POST /store/store-setting",
            }
        ),
        bad_requests=True,
        bad_answers=True,
        required_in=frozenset({"POST /store/store-setting"}),
    ),
    SpecDefect(
        17,
        frozenset({"POST /calendars/", "PUT /calendars/{calendarId}"}),
        bad_requests=True,
        bad_answers=False,
        strict_tools_only=True,
    ),
    # The sandbox takes and answers what HighLevel sends where the spec's type cannot hold it
    # (objects in arrays of untyped arrays; strings typed `object`): strict tools refuse those
    # requests and answers; the portal sends and reads them as they are.
    SpecDefect(
        20,
        operations_with(schema_items_untyped_arrays) - _CALENDAR_WRITES,
        bad_requests=True,
        bad_answers=True,
        strict_tools_only=True,
    ),
    SpecDefect(
        21,
        operations_with(schema_object_typed_string)
        - operations_with(schema_items_untyped_arrays)
        - _CALENDAR_WRITES,
        bad_requests=True,
        bad_answers=True,
        strict_tools_only=True,
    ),
)


def defect_of(key: str) -> SpecDefect | None:
    """The defect that makes ``key`` unjudgeable, if any."""
    return next((d for d in SPEC_DEFECTS if key in d.operations), None)


def requests_unjudgeable() -> set[str]:
    """Operations whose requests no strict OpenAPI validator can accept."""
    return {key for d in SPEC_DEFECTS if d.bad_requests for key in d.operations}


def answers_unjudgeable() -> set[str]:
    """Operations whose answers no validator can accept."""
    return {key for d in SPEC_DEFECTS if d.bad_answers for key in d.operations}


def portal_unrunnable() -> dict[str, str]:
    """Operations the portal itself cannot run as spec-built calls (it checks requests and
    answers against the spec as written), with the reason."""
    return {key: d.reason for d in SPEC_DEFECTS if not d.strict_tools_only for key in d.operations}


def example_requests_unsatisfiable() -> dict[str, str]:
    """Operations for which even a minimal spec-built request fails the spec, with the reason."""
    return {key: d.reason for d in SPEC_DEFECTS for key in d.required_in}


def as_method_path(keys: set[str]) -> set[tuple[str, str]]:
    """``{"GET /x"}`` -> ``{("GET", "/x")}`` (the sandbox registry's keys)."""
    return {(method, path) for method, _, path in (key.partition(" ") for key in keys)}


@cache
def defect_text(number: int) -> str:
    """The "Defect" cell of row ``number`` in DEFECTS.md."""
    for line in DEFECTS_MD.read_text().splitlines():
        match = re.match(rf"^\|\s*{number}\s*\|([^|]*)\|", line)
        if match:
            return match.group(1).strip()
    raise LookupError(f"specs/highlevel/DEFECTS.md has no defect {number}")
