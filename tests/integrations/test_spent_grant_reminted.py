"""A location whose own refresh token HighLevel refuses (spent: the database was restored from a
backup, and HighLevel's refresh tokens are single-use) is minted a location token from a
still-valid agency connection of its agency and goes on; without one it is flagged for
re-consent, saying so."""

import pytest
import responses
from responses import matchers

from integrations.ghl.client import ghl_request
from integrations.ghl.errors import GhlReauthRequired
from integrations.models import Connection
from tests.integrations.conftest import connection_make

pytestmark = pytest.mark.django_db

INVALID_GRANT = {"error": "invalid_grant", "error_description": "refresh token already used"}


@pytest.fixture
def spent(ghl_app, location, mocked, token_url):
    """An OAuth location connection whose access token expired and whose refresh token is spent."""
    mocked.add(responses.POST, token_url, json=INVALID_GRANT, status=400)
    return connection_make(
        app=ghl_app,
        location=location,
        access="old-at-xxxxxxxx",
        refresh="spent-rt-xxxxxx",
        expires_in=-1,
    )


def test_a_spent_grant_is_minted_again_from_the_agency_connection(
    ghl_app, agency, spent, mocked, api_base
):
    agency_connection = Connection(app=ghl_app, agency=agency, kind="agency")
    agency_connection.access_token = "agency-at-xxxxxxxx"
    agency_connection.refresh_token = "agency-rt-xxxxxxxx"
    agency_connection.token_expires_at = None
    agency_connection.save()
    mocked.add(
        responses.POST,
        f"{api_base}/oauth/locationToken",
        match=[
            matchers.urlencoded_params_matcher({"companyId": "comp-1", "locationId": "loc-1"}),
            matchers.header_matcher({"Authorization": "Bearer agency-at-xxxxxxxx"}),
        ],
        json={"access_token": "minted-at-xxxxxx", "expires_in": 86399},
    )
    mocked.add(
        responses.GET,
        f"{api_base}/x",
        json={},
        match=[matchers.header_matcher({"Authorization": "Bearer minted-at-xxxxxx"})],
    )
    ghl_request(connection_id=spent.pk, method="GET", path="/x")
    spent.refresh_from_db()
    assert spent.status == Connection.Status.ACTIVE
    assert spent.auth_type == Connection.AuthType.AGENCY_MINTED
    assert spent.parent_id == agency_connection.pk
    assert spent.access_token == "minted-at-xxxxxx" and spent.refresh_token == ""


def test_without_an_agency_connection_a_spent_grant_is_flagged_for_re_consent(spent):
    with pytest.raises(GhlReauthRequired):
        ghl_request(connection_id=spent.pk, method="GET", path="/x")
    spent.refresh_from_db()
    assert spent.status == Connection.Status.NEEDS_REAUTH
    assert spent.auth_type == Connection.AuthType.OAUTH
    assert "invalid_grant" in spent.last_error and "Connect again" in spent.last_error
