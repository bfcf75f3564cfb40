"""Compiled rules: each step's shortcuts give what the step-by-step path gives, and a rule set is
compiled once per content (the next job's copy of a version, another location's copy of the same
template), never served for changed content."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mappings.limits import LimitError, value_fit, value_kept
from mappings.rules import rules_apply, rules_compile
from mappings.transforms import TRANSFORMS, TransformError, transform_bind, transform_run
from rankr.models import Contact, Opportunity
from tests.mappings.test_transforms import CASES


class Text(str):
    pass


VALUES = [
    None,
    "",
    " ",
    "  Ada ",
    "ADA@X.IO",
    "ada king lovelace",
    "ß straße",
    "İstanbul",
    "\u00a0x\u2003",
    Text(" sub "),
    "+14155552671",
    "(415) 555-2671",
    "020 7946 0958",
    "not a phone",
    "+4407911123456",
    "2024-05-01T09:30:00",
    "2024-05-01T12:00:00Z",
    "1714552200000",
    "2024-13-45",
    1714552200000,
    0,
    -1,
    3.5,
    float("inf"),
    float("nan"),
    True,
    False,
    Decimal("1.5"),
    ["a", " b ", "a"],
    ["new", "old"],
    [1, 2],
    ["Ada", None, " Lovelace "],
    ("x", "y"),
    {"a": 1},
    {"tags": "old"},
    [{"id": "cf1", "value": "gold"}],
    [{"id": "cf0", "field_value": "x"}],
    "new, old, ,NEW",
    datetime(2024, 5, 1, 9, 30),  # noqa: DTZ001 (a naive value, as a rule may meet one)
    datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
]
ZONES = [None, "", "UTC", "Europe/Paris", "Not/AZone"]


def outcome(run, value):
    try:
        result = run(value)
    except TransformError as exc:
        return "error", str(exc)
    return "ok", type(result), repr(result)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_a_bound_step_gives_what_transform_run_gives(name):
    args = CASES[name][0]
    steps = [args, {**args, "unexpected": 1}]  # the second: rules not checked
    if TRANSFORMS[name].zoned:
        steps.append({k: v for k, v in args.items() if k != "assume_tz"})
    for step_args in steps:
        bound = transform_bind(name=name, args=step_args)
        for zone in ZONES:
            for value in VALUES:
                expected = outcome(
                    lambda v, a=step_args, z=zone: transform_run(
                        name=name, args=a, value=v, time_zone=z
                    ),
                    value,
                )
                got = outcome(lambda v, b=bound, z=zone: b(v, z), value)
                assert got == expected, (value, zone)


FIELDS = [f for model in (Contact, Opportunity) for f in model._meta.concrete_fields]
FIT_VALUES = VALUES + [
    "x" * 200,
    "x" * 201,
    "x" * 5000,
    [],
    [["a"]],
    ["a", 1],
    {"a": "b"},
    [Decimal(1)],
]


def test_values_kept_as_they_are_are_those_value_fit_gives_back():
    kept = 0
    for field in FIELDS:
        test = value_kept(field)
        for value in FIT_VALUES:
            if not test(value):
                continue
            kept += 1
            for policy in ("refuse", "truncate"):
                try:
                    fitted = value_fit(field=field, value=value, policy=policy)
                except LimitError:
                    pytest.fail(f"{field.name}: {value!r} is refused but kept as it is")
                assert fitted is value, (field.name, value, policy)
    assert value_kept(Contact._meta.get_field("first_name"))("Ada")
    assert value_kept(Contact._meta.get_field("tags"))(["vip", "new"])
    assert not value_kept(Contact._meta.get_field("first_name"))("x" * 201)
    assert kept > 50


def compile_(rules, null_policy="skip"):
    return rules_compile(
        entity_key="contact", direction="ghl_to_rankr", null_policy=null_policy, rules=rules
    )


def contact_rules(**default):
    return [
        {"source": "email", "target": "email", "transforms": ["trim", "lower"]},
        {"source": "source", "target": "source", "null": "default", "default": "web", **default},
        {
            "source": "type",
            "target": "custom_1",
            "transforms": [{"name": "value_map", "args": {"values": {"a": "A", "b": "B"}}}],
        },
    ]


def test_the_same_rules_are_compiled_once_and_other_rules_anew():
    first = compile_(contact_rules())
    assert compile_(contact_rules()) is first  # another copy of the same content
    assert compile_(contact_rules(), null_policy="clear") is not first
    assert compile_(contact_rules(default="rankr")) is not first
    assert compile_(contact_rules(default=True)) is not compile_(contact_rules(default=1))
    assert compile_(contact_rules(default=1.0)) is not compile_(contact_rules(default=1))
    reordered = contact_rules()
    reordered[2]["transforms"][0]["args"]["values"] = {"b": "B", "a": "A"}
    assert compile_(reordered) is not first  # the order shows in value_map's error message
    assert first({"type": "a", "email": " X@Y.io "}, None) == {
        "email": "x@y.io",
        "source": "web",
        "custom_1": "A",
    }


def test_a_compiled_function_keeps_its_own_copy_of_the_rules():
    rules = contact_rules(default="kept")
    compiled = compile_(rules)
    rules[0]["transforms"].append("upper")
    rules[1]["default"] = "changed"
    rules[2]["transforms"][0]["args"]["values"]["a"] = "changed"
    record = {"email": " A@B.io ", "type": "a"}
    assert compiled(record, None) == {"email": "a@b.io", "source": "kept", "custom_1": "A"}
    assert compile_(rules) is not compiled
    assert compile_(rules)(record, None) == {
        "email": "A@B.IO",
        "source": "changed",
        "custom_1": "changed",
    }


def test_rules_that_are_not_json_data_still_apply():
    rules = [{"source": "email", "target": "email", "transforms": ("trim",)}]
    assert rules_apply(
        entity_key="contact",
        direction="ghl_to_rankr",
        null_policy="skip",
        rules=rules,
        record={"email": " a@b.io "},
    ) == {"email": "a@b.io"}
    odd = [{"source": "email", "target": "email", "default": {1: "x"}}]
    assert compile_(odd) is not compile_(odd)  # not kept: a key that is not text
