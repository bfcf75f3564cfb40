"""The gate called directly, as the dispatcher calls it."""

from dataclasses import dataclass, field

import pytest
from django.http import JsonResponse
from django.test import RequestFactory

from sandbox.access.gate import gate_enter, gate_leave, gate_location_check
from sandbox.access.services.registry import private_token_create
from tests.sandbox.access.helpers import tokens_for

pytestmark = pytest.mark.usefixtures("registered")


@dataclass(frozen=True)
class Operation:
    method: str = "GET"
    path: str = "/contacts/{contactId}"
    operation_id: str = "get-contact"
    scopes: list = field(default_factory=lambda: ["contacts.readonly"])
    spec_file: str = "contacts.json"


def call(token=None, operation=Operation(), version="2021-07-28"):
    headers = {}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if version:
        headers["HTTP_VERSION"] = version
    request = RequestFactory().get("/sandbox/contacts/abc", **headers)
    return request, gate_enter(request=request, operation=operation)


def body(response):
    import json

    return json.loads(response.content)


def test_a_request_without_a_token_gets_highlevels_401(db):
    _, result = call()
    assert result.response.status_code == 401
    assert body(result.response) == {
        "statusCode": 401,
        "message": "Invalid token: access token is invalid",
        "error": "Unauthorized",
    }


def test_an_unknown_token_gets_401(db):
    _, result = call("sbx-at-made-up")
    assert result.response.status_code == 401


def test_a_valid_token_tells_who_is_calling(client):
    answer = tokens_for(client)
    _, result = call(answer["access_token"])
    assert result.response is None
    assert (result.location_id, result.company_id, result.user_type) == (
        "demo-loc-0001",
        "demo-company-0001",
        "Location",
    )
    assert result.token_id and "contacts.readonly" in result.scopes


def test_a_call_outside_the_tokens_scopes_gets_401_not_authorized_for_this_scope(client):
    answer = tokens_for(client, scopes=["contacts.readonly"])
    _, result = call(answer["access_token"], Operation(method="POST", scopes=["contacts.write"]))
    assert result.response.status_code == 401
    assert body(result.response)["message"] == "The token is not authorized for this scope."


def test_any_one_of_the_operations_scopes_suffices(client):
    answer = tokens_for(client, scopes=["contacts.readonly"])
    _, result = call(
        answer["access_token"], Operation(scopes=["contacts.write", "contacts.readonly"])
    )
    assert result.response is None


def test_a_location_token_is_refused_on_an_agency_only_route(client):
    answer = tokens_for(client)
    op = Operation(scopes=["oauth.readonly"])
    object.__setattr__(op, "security", [{"Agency-Access-Only": ["oauth.readonly"]}])
    _, result = call(answer["access_token"], op)
    assert result.response.status_code == 401
    assert body(result.response)["message"].startswith("This authClass type is not allowed")


def test_an_operation_without_security_needs_no_token(db):
    op = Operation(scopes=[])
    object.__setattr__(op, "security", [])
    _, result = call(None, op)
    assert result.response is None and result.token_id is None


@pytest.mark.parametrize(
    "version,mode", [("2021-07-28", "strict"), ("2021-04-15", "strict"), ("v3", "lenient")]
)
def test_the_versions_highlevel_takes_are_accepted(client, settings, version, mode):
    settings.SANDBOX_MODE = mode
    answer = tokens_for(client)
    _, result = call(answer["access_token"], version=version)
    assert result.response is None


def test_version_v3_is_refused_when_strict(client, settings):
    settings.SANDBOX_MODE = "strict"
    answer = tokens_for(client)
    _, result = call(answer["access_token"], version="v3")
    assert result.response.status_code == 400


def test_an_unknown_version_gets_400(client):
    answer = tokens_for(client)
    _, result = call(answer["access_token"], version="2020-01-01")
    assert result.response.status_code == 400
    assert body(result.response)["statusCode"] == 400


def test_a_private_integration_token_passes_for_its_location(db, company):
    pit = private_token_create(location_id="demo-loc-0003", scopes=["contacts.readonly"])
    _, result = call(pit.value)
    assert result.response is None and result.location_id == "demo-loc-0003"
    assert gate_location_check(result=result, location_id="demo-loc-0003") is None
    refused = gate_location_check(result=result, location_id="demo-loc-0001")
    assert refused.status_code == 403


def test_gate_leave_adds_the_five_rate_limit_headers(client):
    answer = tokens_for(client)
    request, result = call(answer["access_token"])
    response = gate_leave(request=request, result=result, response=JsonResponse({"ok": True}))
    assert response["X-RateLimit-Limit-Daily"] == "200000"
    assert response["X-RateLimit-Daily-Remaining"] == "199999"
    assert response["X-RateLimit-Interval-Milliseconds"] == "10000"
    assert response["X-RateLimit-Max"] == "100"
    assert response["X-RateLimit-Remaining"] == "99"
