import time

import pytest
from django.test import override_settings

from sandbox.access.models import Installation, Token
from sandbox.access.services.oauth import pkce_challenge
from sandbox.access.services.registry import private_token_create
from tests.sandbox.access.helpers import (
    CONSENT,
    INSTALLED,
    REDIRECT,
    bearer,
    consent_params,
    consent_post,
    token_post,
    tokens_for,
)

pytestmark = pytest.mark.usefixtures("registered")


def test_consent_page_offers_the_agency_and_its_locations(client):
    response = client.get(CONSENT, consent_params())
    assert response.status_code == 200
    page = response.content.decode()
    for value in (
        "demo-company-0001",
        "demo-loc-0001",
        "demo-loc-0002",
        "demo-loc-0003",
        "Approve",
        "Deny",
    ):
        assert value in page


def test_it_redirects_with_a_code_and_the_state_untouched(client):
    state = "a b+c/=?&%é~"
    query, target = consent_post(client, state=state)
    assert query["state"] == state
    assert query["code"]
    assert query["from"] == "sandbox"  # the redirect URI's own query is kept
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT.split("?")[0]


def test_deny_redirects_with_access_denied_and_the_state(client):
    query, _ = consent_post(client, decision="deny", state="keep-me")
    assert query == {"from": "sandbox", "error": "access_denied", "state": "keep-me"}
    assert not Installation.objects.exists()


def test_an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(client):
    response = client.get(CONSENT, consent_params(redirect_uri="https://evil.test/cb"))
    assert response.status_code == 400
    assert "not registered" in response.content.decode()


def test_scopes_beyond_the_app_are_refused_by_redirect(client):
    response = client.get(CONSENT, consent_params(scopes=["contacts.readonly", "payments.write"]))
    assert response.status_code == 302
    assert "error=invalid_scope" in response["Location"]


def test_code_exchange_answers_like_oauth_json(client):
    answer = tokens_for(client)
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 86400
    assert answer["userType"] == "Location"
    assert answer["locationId"] == "demo-loc-0001"
    assert answer["companyId"] == "demo-company-0001"
    assert answer["userId"]
    assert set(answer["scope"].split()) == {
        "contacts.readonly",
        "contacts.write",
        "locations.readonly",
        "oauth.readonly",
        "oauth.write",
    }
    assert answer["access_token"] != answer["refresh_token"]
    # Only hashes are stored.
    assert not Token.objects.filter(token_hash=answer["access_token"]).exists()
    assert Token.objects.filter(hint=answer["access_token"][-6:], kind=Token.ACCESS).exists()


@pytest.mark.parametrize("mode,status", [("lenient", 200), ("strict", 422)])
def test_camelcase_token_fields_are_accepted_when_lenient_only(client, settings, mode, status):
    """oauth.json documents snake_case; HighLevel's newer SDKs send camelCase (DEFECTS.md)."""
    settings.SANDBOX_MODE = mode
    query, _ = consent_post(client)
    response = client.post(
        "/sandbox/oauth/token",
        f"clientId=rankr-app&clientSecret=rankr-secret&grantType=authorization_code&code={query['code']}"
        "&userType=Location",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == status, response.content
    if mode == "lenient":
        assert response.json()["locationId"] == "demo-loc-0001"


def test_the_token_endpoint_takes_form_encoding_only(client):
    response = client.post(
        "/sandbox/oauth/token",
        {"client_id": "rankr-app", "client_secret": "rankr-secret", "grant_type": "refresh_token"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "x-www-form-urlencoded" in response.json()["message"]


def test_missing_fields_get_highlevels_422_shape(client):
    response = token_post(client, client_secret="", grant_type="authorization_code")
    assert response.status_code == 422
    body = response.json()
    assert body["statusCode"] == 422 and body["error"] == "Unprocessable Entity"
    assert body["message"] == ["client_secret should not be empty"]


def test_a_wrong_client_secret_is_refused(client):
    query, _ = consent_post(client)
    response = token_post(
        client, client_secret="nope", grant_type="authorization_code", code=query["code"]
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_an_authorization_code_is_spent_once(client):
    query, _ = consent_post(client)
    form = {"grant_type": "authorization_code", "code": query["code"]}
    assert token_post(client, **form).status_code == 200
    again = token_post(client, **form)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_a_refresh_token_works_once_and_then_fails_with_invalid_grant(client):
    first = tokens_for(client)
    refreshed = token_post(client, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["locationId"] == "demo-loc-0001" and second["scope"] == first["scope"]
    reused = token_post(client, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    # The new refresh token is good, once.
    assert (
        token_post(
            client, grant_type="refresh_token", refresh_token=second["refresh_token"]
        ).status_code
        == 200
    )


def test_pkce_s256_is_checked_at_the_token_endpoint(client):
    verifier = "v" * 43 + "-._~"
    challenge = pkce_challenge(verifier=verifier)
    codes = [
        consent_post(client, code_challenge=challenge, code_challenge_method="S256")[0]["code"]
        for _ in range(3)
    ]
    no_verifier = token_post(client, grant_type="authorization_code", code=codes[0])
    assert no_verifier.status_code == 400 and no_verifier.json()["error"] == "invalid_grant"
    wrong = token_post(
        client, grant_type="authorization_code", code=codes[1], code_verifier="x" * 43
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    right = token_post(
        client, grant_type="authorization_code", code=codes[2], code_verifier=verifier
    )
    assert right.status_code == 200


def test_pkce_plain_method_is_refused(client):
    response = client.get(
        CONSENT, consent_params(code_challenge="abc", code_challenge_method="plain")
    )
    assert response.status_code == 302
    assert "error=invalid_request" in response["Location"]


@override_settings(SANDBOX_ACCESS_TOKEN_TTL=1)
def test_access_tokens_expire_after_the_configured_seconds(client):
    answer = tokens_for(client, locations=(), agency=("demo-company-0001",), user_type="Company")
    assert answer["expires_in"] == 1
    query = {"companyId": "demo-company-0001", "appId": "rankr-app"}
    assert client.get(INSTALLED, query, **bearer(answer["access_token"])).status_code == 200
    time.sleep(1.1)
    expired = client.get(INSTALLED, query, **bearer(answer["access_token"]))
    assert expired.status_code == 401
    assert {k: v for k, v in expired.json().items() if k != "traceId"} == {
        "statusCode": 401,
        "message": "Invalid JWT",
        "error": "Unauthorized",
    }


def test_agency_install_gives_a_company_token_and_location_tokens_from_it(client):
    answer = tokens_for(client, locations=(), agency=("demo-company-0001",), user_type="Company")
    assert answer["userType"] == "Company"
    assert "locationId" not in answer
    assert answer["approvedLocations"] == ["demo-loc-0001", "demo-loc-0002", "demo-loc-0003"]
    assert answer["isBulkInstallation"] is True
    response = client.post(
        "/sandbox/oauth/locationToken",
        "companyId=demo-company-0001&locationId=demo-loc-0002",
        content_type="application/x-www-form-urlencoded",
        **bearer(answer["access_token"]),
    )
    assert response.status_code == 200, response.content
    location = response.json()
    assert location["locationId"] == "demo-loc-0002"
    assert location["scope"] == answer["scope"]
    assert "refresh_token" not in location
    token = Token.objects.get(hint=location["access_token"][-6:], kind=Token.ACCESS)
    assert token.user_type == "Location" and token.location.location_id == "demo-loc-0002"


def test_location_token_needs_an_agency_token(client):
    answer = tokens_for(client)
    response = client.post(
        "/sandbox/oauth/locationToken",
        "companyId=demo-company-0001&locationId=demo-loc-0001",
        content_type="application/x-www-form-urlencoded",
        **bearer(answer["access_token"]),
    )
    assert response.status_code == 401
    assert "authClass" in response.json()["message"]


def test_location_user_type_for_several_locations_is_refused(client):
    query, _ = consent_post(client, locations=("demo-loc-0001", "demo-loc-0002"))
    response = token_post(
        client, grant_type="authorization_code", code=query["code"], user_type="Location"
    )
    assert response.status_code == 400
    assert "locationToken" in response.json()["error_description"]


def test_installed_locations_lists_where_the_app_is_installed(client):
    answer = tokens_for(client, locations=("demo-loc-0001", "demo-loc-0003"), user_type="Company")
    response = client.get(
        INSTALLED,
        {"companyId": "demo-company-0001", "appId": "rankr-app", "isInstalled": "true"},
        **bearer(answer["access_token"]),
    )
    assert response.status_code == 200
    body = response.json()
    assert [row["_id"] for row in body["locations"]] == ["demo-loc-0001", "demo-loc-0003"]
    assert body["count"] == 2 and body["installToFutureLocations"] is False
    assert all(row["isInstalled"] and row["installedAt"].endswith("Z") for row in body["locations"])


def test_installed_locations_without_company_id_gets_422(client):
    answer = tokens_for(client, locations=(), agency=("demo-company-0001",))
    response = client.get(INSTALLED, {"appId": "rankr-app"}, **bearer(answer["access_token"]))
    assert response.status_code == 422
    assert response.json()["message"] == ["companyId should not be empty"]


def test_private_integration_tokens_belong_to_one_location(client):
    created = private_token_create(location_id="demo-loc-0002", scopes=["contacts.readonly"])
    assert created.value.startswith("pit-")
    token = Token.objects.get(pk=created.token.pk)
    assert token.kind == Token.PRIVATE and token.expires_at is None
    assert token.token_hash != created.value
