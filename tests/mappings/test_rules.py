from datetime import UTC, datetime

import pytest

from mappings.rules import MappingError, rules_apply, rules_check


def check(rules, *, entity="contact", direction="ghl_to_rankr", null_policy="skip"):
    return rules_check(entity_key=entity, direction=direction, null_policy=null_policy, rules=rules)


def apply(rules, record, *, entity="contact", direction="ghl_to_rankr", null_policy="skip"):
    assert check(rules, entity=entity, direction=direction, null_policy=null_policy) == []
    return rules_apply(
        entity_key=entity, direction=direction, null_policy=null_policy, rules=rules, record=record
    )


@pytest.mark.parametrize(
    "rule, message",
    [
        (
            {"source": "email", "target": "mail"},
            "Rule 2 (field 'mail'): unknown target field 'mail'",
        ),
        (
            {"source": "email..x", "target": "email"},
            "Rule 2 (field 'email'): source 'email..x' is not a path",
        ),
        (
            {"source": "phone", "target": "phone", "transforms": [{"name": "e164"}]},
            "Rule 2 (field 'phone'): transform 1: unknown transform 'e164'",
        ),
        (
            {
                "source": "phone",
                "target": "phone",
                "transforms": ["trim", {"name": "phone_e164", "args": {"country": "Narnia"}}],
            },
            "Rule 2 (field 'phone'): transform 2: phone_e164: country 'Narnia'",
        ),
        (
            {"source": "phone", "target": "phone", "transforms": [{"args": {}}]},
            "Rule 2 (field 'phone'): transform 1: write",
        ),
        (
            {"source": "phone", "target": "phone", "transforms": "trim"},
            "Rule 2 (field 'phone'): transforms must be a list",
        ),
        (
            {"source": "tags", "target": "tags", "null": "ignore"},
            "Rule 2 (field 'tags'): null policy 'ignore' is not one of skip, default, clear",
        ),
        (
            {"source": "tags", "target": "tags", "null": "default"},
            "Rule 2 (field 'tags'): the null policy is default but the rule has no default",
        ),
        (
            {"target": "source"},
            "Rule 2 (field 'source'): a rule without source needs the null policy default",
        ),
        (
            {"source": "email", "target": "email"},
            "Rule 2 (field 'email'): field 'email' is already set by rule 1",
        ),
        (
            {"source": "x", "target": "company", "extra": 1},
            "Rule 2 (field 'company'): unknown key 'extra'",
        ),
        ({"source": "x"}, "Rule 2: target is required"),
        ("email -> email", "Rule 2: a rule must be an object"),
    ],
)
def test_each_problem_names_the_rule_number_and_field(rule, message):
    problems = check([{"source": "email", "target": "email"}, rule])
    assert any(p.startswith(message) for p in problems), problems


def test_rankr_to_highlevel_checks_targets_against_highlevel_and_sources_against_rankr():
    problems = check(
        [
            {"source": "first_name", "target": "firstName"},
            {"source": "firstName", "target": "first_name"},
        ],
        direction="rankr_to_ghl",
    )
    assert len(problems) == 2
    assert problems[0].startswith("Rule 2 (field 'first_name'): unknown target field 'first_name'")
    assert problems[1].startswith("Rule 2 (field 'first_name'): source 'firstName': no such field")


def test_mapping_level_problems():
    assert check([], entity="planet") == ["Unknown entity 'planet'."]
    assert check([], direction="sideways") == ["Unknown direction 'sideways'."]
    assert "only maps Rankr → HighLevel" in check([], entity="course")[0]
    assert check({"source": "email"}) == ["Rules must be a list of rule objects."]


def test_it_maps_a_highlevel_contact_into_rankr_fields():
    rules = [
        {"source": "email", "target": "email", "transforms": ["trim", "lower"]},
        {
            "source": "name",
            "target": "first_name",
            "transforms": [{"name": "name_split", "args": {"part": "first"}}],
        },
        {
            "source": "name",
            "target": "last_name",
            "transforms": [{"name": "name_split", "args": {"part": "last"}}],
        },
        {
            "source": "phone",
            "target": "phone",
            "transforms": [{"name": "phone_e164", "args": {"country": "US"}}],
        },
        {
            "source": "customFields",
            "target": "custom_1",
            "transforms": [{"name": "custom_field", "args": {"id": "cf-tier"}}],
        },
        {
            "source": "tags",
            "target": "tags",
            "transforms": [{"name": "tags_add", "args": {"tags": ["from-ghl"]}}],
        },
    ]
    record = {
        "email": " Ada@Example.COM ",
        "name": "Ada Lovelace",
        "phone": "(415) 555-2671",
        "customFields": [{"id": "cf-tier", "value": "gold"}],
        "tags": ["vip"],
    }
    assert apply(rules, record) == {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "+14155552671",
        "custom_1": "gold",
        "tags": ["vip", "from-ghl"],
    }


def test_a_rule_that_cannot_apply_names_rule_and_field():
    rules = [
        {"source": "email", "target": "email"},
        {
            "source": "contact.phone",
            "target": "phone",
            "transforms": [{"name": "phone_e164", "args": {"country": "US"}}],
        },
    ]
    with pytest.raises(MappingError) as exc:
        apply(rules, {"email": "a@b.c", "contact": {"phone": "call me maybe"}})
    assert exc.value.rule_number == 2
    assert exc.value.target == "phone"
    assert str(exc.value).startswith(
        "Rule 2 (source 'contact.phone' → field 'phone'): phone_e164: 'call me maybe' is not"
    )


def test_a_record_that_is_not_an_object_is_refused_clearly():
    with pytest.raises(MappingError, match="the record must be an object, got list"):
        apply([], [1, 2])


@pytest.mark.parametrize(
    "policy, expected",
    [("skip", {}), ("default", {"company": "n/a"}), ("clear", {"company": ""})],
)
def test_null_policies_for_a_missing_value(policy, expected):
    rules = [
        {
            "source": "companyName",
            "target": "company",
            "transforms": ["trim"],
            "null": policy,
            "default": "n/a",
        }
    ]
    assert apply(rules, {"companyName": None}) == expected
    assert apply(rules, {}) == expected
    assert apply(rules, {"companyName": " Acme "}) == {"company": "Acme"}


def test_clear_uses_the_empty_value_of_the_rankr_field():
    rules = [
        {"source": "tags", "target": "tags", "null": "clear"},
        {"source": "dueDate", "target": "custom_2", "null": "clear"},
    ]
    assert apply(rules, {}) == {"tags": [], "custom_2": ""}
    task_rules = [
        {
            "source": "dueDate",
            "target": "due_date",
            "null": "clear",
            "transforms": ["datetime_parse"],
        }
    ]
    assert apply(task_rules, {}, entity="task") == {"due_date": None}
    assert apply(task_rules, {"dueDate": "2024-05-01T08:30:00Z"}, entity="task") == {
        "due_date": datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    }


def test_the_mapping_null_policy_applies_unless_a_rule_overrides_it():
    rules = [
        {"source": "source", "target": "source", "default": "Rankr"},
        {"source": "companyName", "target": "company", "null": "skip"},
    ]
    assert apply(rules, {}, null_policy="default") == {"source": "Rankr"}


def test_a_transform_that_gives_empty_falls_to_the_null_policy():
    rules = [
        {
            "source": "customFields",
            "target": "custom_3",
            "null": "default",
            "default": "none",
            "transforms": [{"name": "custom_field", "args": {"key": "missing"}}, "upper"],
        }
    ]
    assert apply(rules, {"customFields": [{"id": "x", "value": "y"}]}) == {"custom_3": "none"}


def test_constants_and_joined_sources_for_highlevel():
    rules = [
        {"source": ["first_name", "last_name"], "target": "name", "transforms": ["name_join"]},
        {"source": None, "target": "source", "null": "default", "default": "Rankr"},
        {
            "source": "custom_1",
            "target": "customFields",
            "transforms": [{"name": "custom_field_wrap", "args": {"id": "cf1"}}],
        },
        {
            "source": "custom_2",
            "target": "customFields",
            "transforms": [{"name": "custom_field_wrap", "args": {"key": "tier"}}],
        },
    ]
    record = {"first_name": "Ada", "last_name": "Lovelace", "custom_1": "x", "custom_2": "gold"}
    assert apply(rules, record, direction="rankr_to_ghl") == {
        "name": "Ada Lovelace",
        "source": "Rankr",
        "customFields": [{"id": "cf1", "field_value": "x"}, {"key": "tier", "field_value": "gold"}],
    }


def test_paths_reach_into_lists_and_the_whole_record():
    rules = [
        {"source": "customFields.1.value", "target": "custom_1"},
        {"source": "customFields.9.value", "target": "custom_2"},
        {"source": "$", "target": "details"},
    ]
    record = {"customFields": [{"value": "a"}, {"value": "b"}]}
    assert apply(rules[:2], record) == {"custom_1": "b"}
    assert apply(rules[2:], record, entity="social_tag_detail") == {"details": record}


def test_all_problems_of_a_rule_are_reported_at_once():
    problems = check(
        [
            {
                "source": "a..b",
                "target": "nope",
                "transforms": [
                    {"name": ["trim"]},
                    {"name": "trim", "args": "x"},
                    7,
                ],
            }
        ]
    )
    assert [p.split(": ", 1)[1][:30] for p in problems] == [
        "unknown target field 'nope' (f",
        "source 'a..b' is not a path (n",
        "transform 1: unknown transform",
        "transform 2: trim: args must b",
        'transform 3: write {"name": …,',
    ]
