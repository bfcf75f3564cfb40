"""The shared table of spec defects agrees with DEFECTS.md and with the specs."""

import pytest

from integrations.catalog.registry import registry
from tests.spec_defects import (
    SPEC_DEFECTS,
    answers_unjudgeable,
    defect_of,
    defect_text,
    example_requests_unsatisfiable,
    portal_unrunnable,
    requests_unjudgeable,
)


@pytest.mark.parametrize("defect", SPEC_DEFECTS, ids=lambda d: f"defect-{d.number}")
def test_each_defect_names_its_row_of_defects_md_and_real_operations(defect):
    text = defect_text(defect.number)
    assert len(text.split()) >= 5
    assert defect.operations <= set(registry())
    assert defect.required_in <= defect.operations
    assert defect.reason.startswith(f"spec defect {defect.number} ") and text in defect.reason


def test_an_operation_belongs_to_one_defect_at_most():
    keys = [key for defect in SPEC_DEFECTS for key in defect.operations]
    assert len(keys) == len(set(keys))
    assert defect_of("GET /contacts/") is None
    assert defect_of("POST /calendars/").number == 17


def test_the_views_of_the_table_say_what_each_check_must_leave_out():
    assert "POST /calendars/" in requests_unjudgeable()
    assert "POST /calendars/" not in answers_unjudgeable()  # a strict tool's problem only
    assert "POST /calendars/" not in portal_unrunnable()
    assert set(portal_unrunnable()) == {
        key
        for d in SPEC_DEFECTS
        if d.bad_answers and not d.strict_tools_only
        for key in d.operations
    }
    assert set(portal_unrunnable()) < answers_unjudgeable()
    assert "GET /calendars/events" in answers_unjudgeable()  # defect 21: strict tools only
    assert "GET /calendars/events" not in portal_unrunnable()
    assert set(example_requests_unsatisfiable()) == {"POST /store/store-setting"}


def test_an_unknown_defect_number_is_an_error():
    with pytest.raises(LookupError, match="no defect 999"):
        defect_text(999)
