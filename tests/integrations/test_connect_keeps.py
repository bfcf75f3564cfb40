"""Connect agency never silently replaces a location's existing connection."""

import json
from urllib.parse import parse_qs

import pytest
import responses
from django.contrib.auth import get_user_model

from integrations.models import Connection, LocationMintBatch
from integrations.sync.onboarding import mint_batch_run
from tests.integrations.conftest import connection_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept_agency_connection(ghl_app, agency):
    connection = Connection(app=ghl_app, agency=agency, kind="agency")
    connection.access_token = "agency-at-xxxxxxxx"
    connection.refresh_token = "agency-rt-xxxxxxxx"
    connection.save()
    return connection


@pytest.fixture
def staff_connection(ghl_app, location):
    staff = get_user_model().objects.create_user("staffer", password="x")
    return connection_make(
        app=ghl_app, location=location, access="staff-own-token", connected_by=staff
    )


@pytest.fixture
def installed(mocked, api_base, location):
    rows = [
        {"_id": location.location_id, "name": location.name},
        {"_id": "hl-new", "name": "New Shop"},
    ]
    mocked.get(f"{api_base}/oauth/installedLocations", json={"locations": rows, "count": 2})

    def mint(request):
        loc = parse_qs(request.body)["locationId"][0]
        return 200, {}, json.dumps({"access_token": f"minted-{loc}-xx", "expires_in": 86399})

    mocked.add_callback(responses.POST, f"{api_base}/oauth/locationToken", callback=mint)
    return rows


def _connect(admin_client, kept_agency_connection, data, monkeypatch):
    monkeypatch.setattr("django_q.tasks.async_task", lambda *a, **k: None)
    url = f"/integrations/agency/{kept_agency_connection.pk}/locations/"
    page = admin_client.get(url).content.decode()
    admin_client.post(url, data)
    mint_batch_run(batch_id=LocationMintBatch.objects.latest("pk").pk)
    return page


def test_connect_all_keeps_staffs_own_connection(
    admin_client, kept_agency_connection, staff_connection, installed, monkeypatch
):
    page = _connect(admin_client, kept_agency_connection, {"all": "1"}, monkeypatch)
    assert "Already connected (1)" in page and "Connect all 1 not connected" in page
    staff_connection.refresh_from_db()
    assert (
        staff_connection.auth_type == "oauth" and staff_connection.access_token == "staff-own-token"
    )
    assert Connection.objects.get(location__location_id="hl-new").access_token == "minted-hl-new-xx"


def test_replace_ticked_replaces_it(
    admin_client, kept_agency_connection, staff_connection, installed, monkeypatch, location
):
    _connect(
        admin_client,
        kept_agency_connection,
        {"selected": "1", "replace": [location.location_id]},
        monkeypatch,
    )
    staff_connection.refresh_from_db()
    assert staff_connection.auth_type == "agency_minted"
    assert staff_connection.access_token == f"minted-{location.location_id}-xx"
    assert not Connection.objects.filter(location__location_id="hl-new").exists()  # not asked for


def test_the_service_refuses_to_replace_without_being_told(
    kept_agency_connection, staff_connection, location
):
    from integrations.sync.onboarding import mint_batch_create

    batch = mint_batch_create(
        connection_id=kept_agency_connection.pk,
        locations=[{"id": location.location_id, "name": "x"}],
        user=None,
    )
    batch = mint_batch_run(batch_id=batch.pk)  # no HTTP mocked: nothing may be sent
    assert batch.failed == 1 and "Kept the existing connection" in batch.errors[0]["error"]
    staff_connection.refresh_from_db()
    assert staff_connection.access_token == "staff-own-token"
