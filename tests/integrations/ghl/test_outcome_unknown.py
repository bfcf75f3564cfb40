"""A create that is not safe to send twice is never re-sent blind after its answer was lost."""

import pytest
import requests
import responses
from urllib3.exceptions import NewConnectionError

from integrations.catalog.registry import operation_get, registry
from integrations.ghl.client import ghl_request
from integrations.ghl.errors import GhlNetworkError, GhlOutcomeUnknown
from integrations.ghl.retry import DEDUPLICATED, POST_READS

pytestmark = pytest.mark.django_db


def _post(connection, **kwargs):
    return ghl_request(
        connection_id=connection.pk,
        method="POST",
        path="/users/",
        operation_id="POST /users/",
        json={"email": "a@b.test"},
        **kwargs,
    )


def test_a_create_whose_connection_dropped_is_sent_once_and_marked_outcome_unknown(
    connection, mocked, api_base, sleeps
):
    sent = mocked.add(
        responses.POST,
        f"{api_base}/users/",
        body=requests.exceptions.ChunkedEncodingError("cut off"),
    )
    with pytest.raises(GhlOutcomeUnknown) as caught:
        _post(connection)
    assert sent.call_count == 1 and sleeps == []
    assert caught.value.permanent is False and "not sent again blind" in caught.value.message


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_create_answered_5xx_is_not_resent_either(connection, mocked, api_base, sleeps, status):
    sent = mocked.add(responses.POST, f"{api_base}/users/", status=status, json={"message": "boom"})
    with pytest.raises(GhlOutcomeUnknown):
        _post(connection)
    assert sent.call_count == 1


def test_a_create_refused_with_429_was_not_done_and_is_retried(
    connection, mocked, api_base, sleeps
):
    mocked.add(responses.POST, f"{api_base}/users/", status=429, json={"message": "slow down"})
    mocked.add(responses.POST, f"{api_base}/users/", json={"id": "u-1"}, status=201)
    assert _post(connection).data == {"id": "u-1"}


def test_a_create_whose_connection_was_never_made_is_retried(connection, mocked, api_base, sleeps):
    refused = requests.ConnectionError(NewConnectionError(None, "Connection refused"))
    mocked.add(responses.POST, f"{api_base}/users/", body=refused)
    mocked.add(responses.POST, f"{api_base}/users/", json={"id": "u-1"}, status=201)
    assert _post(connection).data == {"id": "u-1"}


def test_an_idempotent_request_is_still_retried_after_a_drop(connection, mocked, api_base, sleeps):
    mocked.add(
        responses.GET, f"{api_base}/users/u-1", body=requests.exceptions.ChunkedEncodingError("cut")
    )
    mocked.add(responses.GET, f"{api_base}/users/u-1", json={"id": "u-1"})
    assert ghl_request(connection_id=connection.pk, method="GET", path="/users/u-1").data == {
        "id": "u-1"
    }


def test_a_post_declared_retry_safe_is_retried_after_a_drop(connection, mocked, api_base, sleeps):
    mocked.add(
        responses.POST,
        f"{api_base}/contacts/upsert",
        body=requests.exceptions.ChunkedEncodingError("x"),
    )
    mocked.add(responses.POST, f"{api_base}/contacts/upsert", json={"contact": {"id": "c"}})
    answer = ghl_request(
        connection_id=connection.pk,
        method="POST",
        path="/contacts/upsert",
        json={"email": "a@b.test"},
        retry_safe=True,
    )
    assert answer.data == {"contact": {"id": "c"}}


def test_the_network_error_says_whether_the_request_may_have_left(
    connection, mocked, api_base, sleeps
):
    mocked.add(
        responses.GET,
        f"{api_base}/x",
        body=requests.ConnectionError(NewConnectionError(None, "refused")),
    )
    with pytest.raises(GhlNetworkError) as caught:
        ghl_request(connection_id=connection.pk, method="GET", path="/x", max_attempts=1)
    assert caught.value.sent is False


def test_every_catalog_operation_says_whether_it_is_safe_to_retry():
    by_key = registry()
    for key in {**POST_READS, **DEDUPLICATED}:
        assert key in by_key, f"{key} is not an operation of the specs"
        assert by_key[key].retry_safe
    assert not operation_get("POST /users/").retry_safe
    assert not operation_get("POST /contacts/").retry_safe
    assert operation_get("PUT /contacts/{contactId}").retry_safe
    assert operation_get("DELETE /users/{userId}").retry_safe
    unsafe = [op.key for op in by_key.values() if not op.retry_safe]
    assert unsafe and all(key.split()[0] in ("POST", "PATCH") for key in unsafe)
