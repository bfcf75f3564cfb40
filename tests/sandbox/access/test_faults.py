import json
import time

import pytest
import requests
from django.test import override_settings

from sandbox.access.models import FaultRule
from tests.sandbox.access.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    INSTALLED,
    REDIRECT,
    SCOPES,
    Gunicorn,
    bearer,
    token_post,
    tokens_for,
)
from tests.sandbox.access.test_gate import call

FAULTS = "/sandbox/control/faults"
QUERY = {"companyId": "demo-company-0001", "appId": "rankr-app"}


def faults_set(client, **data):
    response = client.post(FAULTS, json.dumps(data), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def agency_get(client, token):
    return client.get(INSTALLED, QUERY, **bearer(token))


@pytest.fixture
def agency_token(client, registered):
    return tokens_for(client, locations=(), agency=("demo-company-0001",))


def test_the_control_endpoint_sets_reads_and_clears_rules(client, db):
    answer = faults_set(client, locationId="demo-loc-0001", seed=5, errorRate=0.25, latencyMs=10)
    assert answer["rule"]["locationId"] == "demo-loc-0001"
    assert answer["rule"]["errorRate"] == 0.25 and answer["rule"]["seed"] == 5
    faults_set(client, stormRate=1.0)
    rules = client.get(FAULTS).json()["rules"]
    assert [r["locationId"] for r in rules] == [None, "demo-loc-0001"]
    assert client.delete(f"{FAULTS}?locationId=demo-loc-0001").json() == {"deleted": 1}
    assert [r["locationId"] for r in client.get(FAULTS).json()["rules"]] == [None]
    assert client.delete(FAULTS).json() == {"deleted": 1}
    assert not FaultRule.objects.exists()


@pytest.mark.parametrize(
    "data, status, fragment",
    [
        ({"stormRat": 1}, 422, "Unknown keys: stormRat"),
        ({"errorRate": 2}, 422, "less than or equal to 1"),
        ({"latencyMs": "slow"}, 422, "latencyMs must be a number"),
        ({"refuseRefresh": 1}, 422, "refuseRefresh must be a boolean"),
        ({"errorStatus": 404}, 422, "greater than or equal to 500"),
    ],
)
def test_bad_fault_settings_are_refused_with_the_reason(client, db, data, status, fragment):
    response = client.post(FAULTS, json.dumps(data), content_type="application/json")
    assert response.status_code == status
    assert fragment in " ".join(response.json()["message"])
    assert not FaultRule.objects.exists()


def test_a_body_that_is_not_json_gets_400(client, db):
    response = client.post(FAULTS, "{nope", content_type="application/json")
    assert response.status_code == 400


@override_settings(SANDBOX_CONTROL_TOKEN="ctl-secret")
def test_a_configured_control_token_is_required(client, db):
    assert client.get(FAULTS).status_code == 401
    assert client.get(FAULTS, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get(FAULTS, HTTP_AUTHORIZATION="Bearer ctl-secret").status_code == 200
    assert client.get(FAULTS, HTTP_X_SANDBOX_CONTROL_TOKEN="ctl-secret").status_code == 200


@override_settings(SANDBOX_CONTROL_TOKEN="", DEBUG=False, PORTAL_ENV="production")
def test_without_a_control_token_only_debug_or_test_may_control(client, db):
    assert client.get(FAULTS).status_code == 403


def test_a_429_storm_answers_too_many_requests_with_retry_after(client, agency_token):
    faults_set(client, stormRate=1.0, retryAfter=7)
    response = agency_get(client, agency_token["access_token"])
    assert response.status_code == 429
    assert response["Retry-After"] == "7"
    assert response.json()["statusCode"] == 429
    assert "X-RateLimit-Remaining" in response


def test_a_storm_ends_after_its_duration(client, agency_token):
    faults_set(client, stormRate=1.0, stormSeconds=0.5)
    assert agency_get(client, agency_token["access_token"]).status_code == 429
    time.sleep(0.6)
    assert agency_get(client, agency_token["access_token"]).status_code == 200


def test_a_5xx_rate_answers_the_chosen_status(client, agency_token):
    faults_set(client, errorRate=1.0, errorStatus=502)
    response = agency_get(client, agency_token["access_token"])
    assert response.status_code == 502
    assert {k: v for k, v in response.json().items() if k != "traceId"} == {
        "statusCode": 502,
        "message": "Bad Gateway",
        "error": "Bad Gateway",
    }


def test_latency_is_added_before_the_answer(client, agency_token):
    faults_set(client, latencyMs=300)
    started = time.monotonic()
    assert agency_get(client, agency_token["access_token"]).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_an_html_error_page_comes_instead_of_json(client, agency_token):
    faults_set(client, htmlRate=1.0)
    response = agency_get(client, agency_token["access_token"])
    assert response.status_code == 502
    assert response["Content-Type"].startswith("text/html")
    assert response.content.startswith(b"<!DOCTYPE html>")


def test_expire_tokens_now_makes_live_tokens_answer_401(client, agency_token):
    assert agency_get(client, agency_token["access_token"]).status_code == 200
    answer = faults_set(client, expireTokensNow=True)
    assert answer == {"expiredTokens": 1}
    assert not FaultRule.objects.exists()  # expiring alone sets no rule
    assert agency_get(client, agency_token["access_token"]).json()["message"] == "Invalid JWT"


def test_refuse_refresh_fails_refreshes_until_cleared(client, registered):
    answer = tokens_for(client)
    faults_set(client, locationId="demo-loc-0001", refuseRefresh=True)
    refused = token_post(client, grant_type="refresh_token", refresh_token=answer["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    client.delete(FAULTS)
    # A refused refresh does not spend the token.
    assert (
        token_post(
            client, grant_type="refresh_token", refresh_token=answer["refresh_token"]
        ).status_code
        == 200
    )


def _pattern(token, n=40):
    return [call(token)[1].response is not None for _ in range(n)]


def test_the_same_seed_faults_the_same_requests(client, registered):
    token = tokens_for(client)["access_token"]
    faults_set(client, locationId="demo-loc-0001", seed=7, errorRate=0.5)
    first = _pattern(token)
    faults_set(client, locationId="demo-loc-0001", seed=7, errorRate=0.5)
    assert _pattern(token) == first
    assert 5 < sum(first) < 35
    faults_set(client, locationId="demo-loc-0001", seed=8, errorRate=0.5)
    assert _pattern(token) != first


def test_a_location_rule_overrides_the_global_one(client, registered):
    loc1 = tokens_for(client, locations=("demo-loc-0001",))["access_token"]
    loc2 = tokens_for(client, locations=("demo-loc-0002",))["access_token"]
    faults_set(client, errorRate=1.0)
    faults_set(client, locationId="demo-loc-0001", errorRate=0.0)
    assert call(loc1)[1].response is None
    assert call(loc2)[1].response.status_code == 503


def _dropped_connection_seen(base_url, token):
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(
            f"{base_url}{INSTALLED}",
            params=QUERY,
            timeout=10,
            headers={"Authorization": f"Bearer {token}", "Version": "2021-07-28"},
        )
    # The server is fine afterwards: the next request (drop rate now 0) gets a whole answer.
    FaultRule.objects.all().update(drop_rate=0.0)
    after = requests.get(
        f"{base_url}{INSTALLED}",
        params=QUERY,
        timeout=10,
        headers={"Authorization": f"Bearer {token}", "Version": "2021-07-28"},
    )
    assert after.status_code == 200 and after.json()["count"] == 3


def _live_setup(client):
    from sandbox.access.services.registry import sandbox_app_register, sandbox_demo_company_ensure

    sandbox_demo_company_ensure()
    sandbox_app_register(
        name="Rankr",
        redirect_uris=[REDIRECT],
        scopes=SCOPES,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    token = tokens_for(client, locations=(), agency=("demo-company-0001",))["access_token"]
    faults_set(client, dropRate=1.0)
    return token


@pytest.mark.slow  # a live server
def test_a_dropped_connection_reaches_the_client_as_a_broken_body(live_server, client):
    token = _live_setup(client)
    _dropped_connection_seen(live_server.url, token)


@pytest.mark.slow
def test_a_dropped_connection_under_gunicorn_too(transactional_db, client):
    token = _live_setup(client)
    server = Gunicorn()
    try:
        server.wait_ready()
        _dropped_connection_seen(server.url, token)
    finally:
        server.stop()
