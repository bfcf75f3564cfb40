"""Rankr field limits are checked before the database, refused or truncated as the rule says."""

from decimal import Decimal

import pytest

from mappings.limits import LimitError, value_fit
from mappings.rules import MappingError, rules_apply, rules_check
from rankr.models import Contact, Opportunity

first_name = Contact._meta.get_field("first_name")


def test_an_over_long_value_is_refused_naming_the_limit():
    with pytest.raises(LimitError, match="201 characters; the field holds at most 200"):
        value_fit(field=first_name, value="x" * 201)


def test_truncate_cuts_to_the_limit_and_marks_the_cut():
    fitted = value_fit(field=first_name, value="x" * 500, policy="truncate")
    assert len(fitted) == 200 and fitted.endswith("…")
    assert value_fit(field=first_name, value="short", policy="truncate") == "short"


def test_a_value_of_the_wrong_type_is_refused_or_stored_as_its_text():
    with pytest.raises(LimitError, match="expected text, got an object"):
        value_fit(field=first_name, value={"a": 1})
    assert value_fit(field=first_name, value={"a": 1}, policy="truncate") == '{"a": 1}'


def test_numbers_must_fit_their_digits():
    money = Opportunity._meta.get_field("monetary_value")
    assert value_fit(field=money, value="12.50") == Decimal("12.50")
    with pytest.raises(LimitError):
        value_fit(field=money, value="1e20")
    assert value_fit(field=money, value="lots", policy="truncate") is None


def test_a_rule_names_itself_the_field_and_the_value_that_did_not_fit():
    rules = [
        {"source": "email", "target": "email"},
        {"source": "firstName", "target": "first_name"},
    ]
    with pytest.raises(MappingError) as caught:
        rules_apply(
            entity_key="contact",
            direction="ghl_to_rankr",
            null_policy="skip",
            rules=rules,
            record={"email": "a@b.test", "firstName": "N" * 250},
        )
    assert (caught.value.rule_number, caught.value.target, caught.value.value) == (
        2,
        "first_name",
        "N" * 250,
    )


def test_the_invalid_policy_is_checked_on_save():
    problems = rules_check(
        entity_key="contact",
        direction="ghl_to_rankr",
        null_policy="skip",
        rules=[{"source": "firstName", "target": "first_name", "invalid": "chop"}],
    )
    assert problems and "invalid 'chop'" in problems[0]
    assert (
        rules_check(
            entity_key="contact",
            direction="ghl_to_rankr",
            null_policy="skip",
            rules=[{"source": "firstName", "target": "first_name", "invalid": "truncate"}],
        )
        == []
    )
