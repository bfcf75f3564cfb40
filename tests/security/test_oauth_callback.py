"""OAuth callback: the state is checked before any error= text is shown; a token answer missing
locationId/companyId/userType is refused."""

from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from integrations.models import Connection

pytestmark = pytest.mark.django_db


def start(client, app, location):
    response = client.post(
        "/integrations/connect/", {"app": app.pk, "kind": "location", "location": location.pk}
    )
    return parse_qs(urlsplit(response["Location"]).query)


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_superuser("root", "r@example.test", "x-long-pass-1234")
    )
    return client


def test_an_error_with_a_forged_state_shows_none_of_its_text(admin_client):
    response = admin_client.get(
        "/integrations/oauth/callback/",
        {"error": "Call+1-900-SCAM now", "state": "forged"},
        follow=True,
    )
    assert b"SCAM" not in response.content and b"state is unknown" in response.content


def test_an_error_with_the_real_state_is_shown(admin_client, ghl_app, location):
    query = start(admin_client, ghl_app, location)
    response = admin_client.get(
        "/integrations/oauth/callback/",
        {"error": "access_denied", "state": query["state"][0]},
        follow=True,
    )
    assert b"HighLevel reported: access_denied" in response.content


@pytest.mark.parametrize(
    "answer",
    [
        {"locationId": "loc-1"},  # no userType
        {"userType": "Location"},  # no locationId
        {"userType": "Company", "locationId": "loc-1"},  # the wrong kind of token
    ],
)
def test_a_token_answer_that_does_not_say_what_it_authorises_is_refused(
    admin_client, ghl_app, location, mocked, token_url, answer
):
    query = start(admin_client, ghl_app, location)
    mocked.add(
        responses.POST,
        token_url,
        json={
            "access_token": "at-xxxxxxxx",
            "refresh_token": "rt-xxxxxxxx",
            "expires_in": 86399,
            **answer,
        },
    )
    response = admin_client.get(
        "/integrations/oauth/callback/", {"code": "c1", "state": query["state"][0]}
    )
    assert response.status_code == 400 and not Connection.objects.exists()
