"""Requests the spec rejects get HighLevel's status and error body."""

import pytest

from tests.sandbox.conftest import API, LOCATION

pytestmark = pytest.mark.django_db


def shape(response):
    body = response.json()
    assert set(body) == {"statusCode", "message", "error", "traceId"}
    assert body["statusCode"] == response.status_code
    return body


def test_unknown_paths_are_404_like_nestjs(api):
    response = api.get("/contacts/x/y/z/w")
    assert response.status_code == 404
    assert shape(response)["message"] == "Cannot GET /contacts/x/y/z/w"
    assert api.call("PATCH", "/contacts/").status_code == 404


def test_a_missing_version_header_is_400(api):
    response = api.get(f"/contacts/?locationId={LOCATION}", version=None)
    assert response.status_code == 400
    assert shape(response)["message"] == "Version header was not found"


def test_a_version_the_operation_does_not_list_is_400_but_v3_passes_when_lenient(api, settings):
    assert api.get(f"/contacts/?locationId={LOCATION}", version="2021-04-15").status_code == 400
    assert api.get(f"/contacts/?locationId={LOCATION}", version="v3").status_code == 400  # strict
    settings.SANDBOX_MODE = "lenient"
    assert api.get(f"/contacts/?locationId={LOCATION}", version="v3").status_code == 200


def test_body_errors_are_422_with_a_list_of_messages(api):
    response = api.post("/contacts/", {"locationId": LOCATION, "firstName": 5, "tags": "vip"})
    assert response.status_code == 422
    assert sorted(shape(response)["message"]) == [
        "firstName must be a string",
        "tags must be a array",
    ]


def test_query_values_are_typed_before_validation(api):
    response = api.get(f"/contacts/?locationId={LOCATION}&limit=lots")
    assert response.status_code == 422
    assert shape(response)["message"] == ["limit must be a number"]


def test_malformed_json_is_400(api, client, world):
    response = client.post(
        API + "/contacts/",
        data="{nope",
        content_type="application/json",
        HTTP_VERSION="2021-07-28",
        HTTP_AUTHORIZATION=f"Bearer {world.location_token}",
    )
    assert response.status_code == 400
    assert shape(response)["message"].startswith("Unexpected token in JSON")


def test_a_missing_required_query_parameter_is_reported(api):
    response = api.get("/users/")
    assert response.status_code == 400  # GET /users/ documents no 422
    assert shape(response)["message"] == "locationId should not be empty"


def test_no_token_is_401(api):
    response = api.get(f"/contacts/?locationId={LOCATION}", token="")
    assert response.status_code == 401
    shape(response)


def test_an_operation_without_state_answers_the_specs_example(api):
    response = api.get(f"/funnels/funnel/list?locationId={LOCATION}")
    assert response.status_code == 200
    assert isinstance(response.json(), dict) and response.json()


def test_a_form_sent_to_a_json_operation_is_validated_as_no_body(client, world):
    response = client.post(
        API + "/contacts/",
        {"locationId": LOCATION, "firstName": "Form"},
        HTTP_VERSION="2021-07-28",
        HTTP_AUTHORIZATION=f"Bearer {world.location_token}",
    )
    assert response.status_code == 422
    assert "locationId should not be empty" in shape(response)["message"]
