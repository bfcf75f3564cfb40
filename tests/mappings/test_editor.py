"""The table editor: every rule survives rules -> rows -> submitted fields -> rules exactly."""

import json
import re

import pytest

from mappings.editor import (
    editor_op,
    editor_rules_from_post,
    json_error_text,
    text_value,
    value_text,
)
from mappings.flow_templates import FLOW_TEMPLATES
from mappings.forms import MappingForm, target_choices
from mappings.rules import rules_problems
from tests.mappings.form_fields import form_fields


def _round_trip(template, rules, **extra):
    form = MappingForm(
        initial={
            "entity": template.entity,
            "direction": template.direction,
            "rules": rules,
            "null_policy": template.null_policy,
            "operation_key": template.operation_key,
        }
    )
    fields = form_fields(str(form["rules"]))
    fields.update(extra)
    return fields, editor_rules_from_post(fields, prefix="rules")


@pytest.mark.parametrize("key", sorted(FLOW_TEMPLATES))
def test_every_flow_template_round_trips_through_the_table_exactly(key):
    template = FLOW_TEMPLATES[key]
    fields, rules = _round_trip(template, template.rules)
    assert fields["rules-mode"] == "table"
    assert json.dumps(rules) == json.dumps(template.rules)  # same keys, same order, same values


@pytest.mark.parametrize("key", sorted(FLOW_TEMPLATES))
def test_every_flow_template_round_trips_through_the_json_view(key):
    template = FLOW_TEMPLATES[key]
    form = MappingForm(
        data={"rules": json.dumps(template.rules), "rules-mode": "json", "rules-op": "mode:table"}
    )
    rendered = form_fields(str(form["rules"]))
    assert rendered["rules-mode"] == "table"
    assert json.loads(rendered["rules"]) == template.rules
    back = MappingForm(data={**rendered, "rules-op": "mode:json"})
    shown = form_fields(str(back["rules"]))
    assert shown["rules-mode"] == "json"
    assert json.dumps(json.loads(shown["rules"])) == json.dumps(template.rules)


def test_hand_written_shapes_and_refused_keys_survive_the_table():
    template = FLOW_TEMPLATES["ghl_contact_upsert"]
    rules = [
        {
            "target": "email",
            "source": "email",
            "transforms": ["trim", {"name": "lower", "args": {}}],
        },
        {"source": "phone", "target": "phone", "colour": "blue"},
        {
            "source": "x",
            "target": "custom_1",
            "transforms": [
                {"name": "value_map", "args": {"values": {"1": "one"}, "otherwise": "123"}}
            ],
            "null": "default",
            "default": "",
        },
        {
            "source": ["firstName", "lastName"],
            "target": "first_name",
            "transforms": [{"name": "nope", "args": {"a": 1}}],
        },
        "not a rule",
    ]
    _fields, back = _round_trip(template, rules)
    assert json.dumps(back) == json.dumps(rules)


def test_an_edited_row_changes_only_what_was_edited():
    template = FLOW_TEMPLATES["ghl_contact_upsert"]
    fields, _ = _round_trip(template, template.rules)
    fields["rules-3-t0-a-country"] = "GB"
    fields["rules-0-null"] = "clear"
    rules = editor_rules_from_post(fields, prefix="rules")
    assert rules[3]["transforms"] == [{"name": "phone_e164", "args": {"country": "GB"}}]
    assert rules[0] == {**template.rules[0], "null": "clear"}
    assert rules[1:3] == template.rules[1:3] and rules[4:] == template.rules[4:]


def test_a_transform_picked_in_the_spare_slot_is_added_and_a_removed_one_dropped():
    template = FLOW_TEMPLATES["ghl_contact_upsert"]
    fields, _ = _round_trip(template, template.rules)
    fields["rules-0-t2-name"] = "upper"  # the spare "add a transform" select after trim, lower
    fields["rules-0-t0-name"] = ""  # "— remove —"
    assert editor_rules_from_post(fields, prefix="rules")[0]["transforms"] == [
        {"name": "lower"},
        {"name": "upper"},
    ]


def test_a_custom_field_picked_as_source_reads_it_from_custom_fields():
    template = FLOW_TEMPLATES["ghl_contact_upsert"]
    fields, _ = _round_trip(template, template.rules)
    fields["rules-6-source"] = "cf:abc123"
    fields["rules-6-target"] = "custom_2"
    rule = editor_rules_from_post(fields, prefix="rules")[6]
    assert rule["source"] == "customFields" and rule["target"] == "custom_2"
    assert rule["transforms"][0] == {"name": "custom_field", "args": {"id": "abc123"}}


def test_rows_are_added_moved_and_deleted():
    rules = [{"source": "a", "target": "email"}, {"source": "b", "target": "phone"}]
    assert editor_op(rules, "down:0") == rules[::-1]
    assert editor_op(rules, "up:1") == rules[::-1]
    assert editor_op(rules, "delete:0") == rules[1:]
    assert editor_op(rules, "add")[-1] == {"source": None, "target": "", "transforms": []}
    assert editor_op(rules, "up:0") == rules and editor_op(rules, "delete:9") == rules


def test_targets_are_offered_by_the_labels_the_pages_use():
    choices = dict(target_choices(entity_key="contact", direction="ghl_to_rankr"))
    assert choices["custom_1"] == "Custom field 1 (custom_1)"
    assert choices["first_name"] == "First name (first_name)"


def test_the_label_typed_as_a_target_gets_a_hint_naming_the_field():
    problems = rules_problems(
        entity_key="contact",
        direction="ghl_to_rankr",
        null_policy="skip",
        rules=[{"source": "x", "target": "Custom field 1"}],
    )
    assert problems[0].field == "target"
    assert problems[0].message.endswith(
        "'Custom field 1' is the label of 'custom_1': write 'custom_1'"
    )


def test_problems_land_on_their_row_step_and_argument():
    rules = [
        {"source": "email", "target": "email"},
        {
            "source": "phone",
            "target": "phone",
            "transforms": [{"name": "phone_e164", "args": {"country": "XX"}}],
        },
        {"source": "email..x", "target": "telephone"},
    ]
    form = MappingForm(
        data={
            "rules": json.dumps(rules),
            "rules-mode": "json",
            "rules-op": "mode:table",
            "entity": "contact",
            "direction": "ghl_to_rankr",
            "null_policy": "skip",
        }
    )
    form.is_valid()
    form.rules_problems_set(
        {"entity": "contact", "direction": "ghl_to_rankr", "null_policy": "skip", "rules": rules}
    )
    html = str(form["rules"])
    row2 = html[html.index('id="rule-2"') : html.index('id="rule-3"')]
    row3 = html[html.index('id="rule-3"') :]
    rows = re.finditer(r'<tr class="([^"]*)" id="(rule-\d)"', html)
    classes = {m.group(2): m.group(1) for m in rows}
    assert classes == {
        "rule-1": "rule-row",
        "rule-2": "rule-row rule-invalid",
        "rule-3": "rule-row rule-invalid",
    }
    assert "country &#x27;XX&#x27; is not a two-letter region code" in row2
    assert "unknown target field &#x27;telephone&#x27;" in row3
    assert "source &#x27;email..x&#x27; is not a path" in row3


def test_a_json_slip_says_where():
    assert json_error_text('[\n {"a": 1,}\n]').startswith(
        "The JSON is not valid at line 2, column 10: Expecting property name"
    )
    assert json_error_text("[]") == ""


@pytest.mark.parametrize("value", ["US", "", "123", "true", 5, True, None, {"a": [1]}, [1, "x"]])
def test_values_shown_as_text_read_back_the_same(value):
    assert text_value(value_text(value)) == value
