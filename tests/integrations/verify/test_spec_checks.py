"""A sample of live answers is validated against the spec; deviations are counted per operation,
naming the place and the rule, never the value."""

import pytest
from responses import matchers

from integrations.catalog.answers import answer_deviations
from integrations.catalog.services import operation_run
from integrations.models import SpecDeviation
from tests.integrations.conftest import ACCESS

HEADERS = {"Authorization": f"Bearer {ACCESS}", "Version": "2021-07-28"}


def test_a_deviation_names_the_place_and_the_rule_not_the_value():
    found = answer_deviations(
        operation_key="GET /contacts/{contactId}",
        data={"contact": {"id": 12, "tags": "secret-vip", "email": "a@b.io"}},
    )
    assert found == [
        ("contact.id", 'type "string" not met'),
        ("contact.tags", 'type "array" not met'),
    ]
    assert "secret-vip" not in repr(found)


def test_an_answer_that_follows_the_spec_has_no_deviation():
    assert (
        answer_deviations(
            operation_key="GET /contacts/{contactId}",
            data={"contact": {"id": "c-1", "tags": ["vip"], "email": "a@b.io"}},
        )
        == []
    )


@pytest.mark.django_db
def test_sampled_live_answers_record_their_deviations_per_operation(
    events_connection, mocked, api_base, settings
):
    settings.SPEC_CHECK_SAMPLE_RATE = 1.0
    mocked.get(
        f"{api_base}/contacts/c-1",
        match=[matchers.header_matcher(HEADERS)],
        json={"contact": {"id": 12, "email": "a@b.io"}},
    )
    for _ in range(2):
        operation_run(
            connection_id=events_connection.pk,
            operation_id="GET /contacts/{contactId}",
            params={"contactId": "c-1"},
        )
    row = SpecDeviation.objects.get()
    assert (row.operation, row.status, row.path, row.count) == (
        "GET /contacts/{contactId}",
        200,
        "contact.id",
        2,
    )


@pytest.mark.django_db
def test_no_answer_is_checked_when_the_sample_rate_is_zero(
    events_connection, mocked, api_base, settings
):
    settings.SPEC_CHECK_SAMPLE_RATE = 0.0
    mocked.get(f"{api_base}/contacts/c-1", json={"contact": {"id": 12}})
    operation_run(
        connection_id=events_connection.pk,
        operation_id="GET /contacts/{contactId}",
        params={"contactId": "c-1"},
    )
    assert not SpecDeviation.objects.exists()
