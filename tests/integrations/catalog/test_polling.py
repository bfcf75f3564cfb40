import pytest

from integrations.catalog.named import ACTION, TRIGGER, named_all, named_get
from integrations.catalog.paging import CURSOR, NONE, PAGE, SEARCH_AFTER, SKIP, START_AFTER
from integrations.catalog.polling import FINGERPRINT, plan_records, poll_plan, poll_plans
from integrations.catalog.registry import registry

TRIGGERS = [n for n in named_all() if n.kind == TRIGGER]


@pytest.mark.parametrize("named", TRIGGERS, ids=lambda n: n.name)
def test_each_polling_trigger_has_a_plan_the_spec_supports(named):
    plan = poll_plan(named)
    op = registry()[plan.operation]
    assert plan.operation == named.key
    assert plan.paging == op.paging
    assert plan.change_key
    known = {p.name for p in op.form_params}
    assert set(plan.params) | set(plan.connection_params) | set(plan.window_params) <= known
    if plan.change_key != FINGERPRINT:
        assert plan.record_id, "a change key needs a record id to compare against"


def test_plans_cover_every_trigger_and_no_action():
    plans = poll_plans()
    assert set(plans) == {n.name for n in TRIGGERS}
    with pytest.raises(ValueError, match="action"):
        poll_plan(next(n for n in named_all() if n.kind == ACTION))


@pytest.mark.parametrize(
    "name, records, change_key, style, params, from_connection",
    [
        ("List Contacts (Deprecated)", "contacts", FINGERPRINT, START_AFTER, (), ("locationId",)),
        ("Search Contacts", "contacts", "dateUpdated", SEARCH_AFTER, (), ()),
        ("Search Opportunities", "opportunities", "updatedAt", START_AFTER, (), ("location_id",)),
        ("Get Form Submissions", "submissions", FINGERPRINT, PAGE, (), ("locationId",)),
        ("List Products", "products", "updatedAt", SKIP, (), ("locationId",)),
        ("Get Messages by Conversation", "messages", FINGERPRINT, CURSOR, ("conversationId",), ()),
        ("Get Contact", "contact", "dateUpdated", NONE, ("contactId",), ()),
        ("Get User", "", FINGERPRINT, NONE, ("userId",), ()),
    ],
)
def test_plans_say_where_records_are_and_how_changes_are_seen(
    name, records, change_key, style, params, from_connection
):
    plan = poll_plan(named_get(name))
    assert plan.records == records
    assert plan.change_key == change_key
    assert plan.paging.style == style
    assert plan.params == params
    assert plan.connection_params == from_connection


def test_event_triggers_poll_a_time_window():
    plan = poll_plan(named_get("List Calendar Events"))
    assert plan.window_params == ("startTime", "endTime")
    assert plan.connection_params == ("locationId",)


def test_plan_records_reads_lists_single_records_and_missing_ones():
    listed = poll_plan(named_get("List Contacts (Deprecated)"))
    assert plan_records(listed, {"contacts": [{"id": "a"}], "meta": {}}) == [{"id": "a"}]
    single = poll_plan(named_get("Get Contact"))
    assert plan_records(single, {"contact": {"id": "c1"}}) == [{"id": "c1"}]
    whole = poll_plan(named_get("Get User"))
    assert plan_records(whole, {"id": "u1"}) == [{"id": "u1"}]
    assert plan_records(listed, {"unexpected": True}) == []
