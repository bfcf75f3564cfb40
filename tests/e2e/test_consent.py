"""Connecting through the sandbox's consent page, over real HTTP, as an admin would."""

import re
from urllib.parse import urlsplit

import pytest

from integrations.catalog.services import operation_run
from integrations.models import Connection, LocationMintBatch
from portal.models import Agency
from tests.e2e.portal import query_of

pytestmark = pytest.mark.slow


def _start(browser, world, **form):
    """Press Connect on the portal; returns the sandbox consent URL it sends the browser to."""
    answer = browser.post_form(
        f"/integrations/connect/?kind={form['kind']}",
        {"app": world.app.pk, **form},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:500]
    consent = answer.headers["Location"]
    assert consent.startswith(world.url + "/sandbox/marketplace/v2/oauth/chooselocation?")
    query = query_of(consent)
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    return consent


def test_a_location_connects_through_the_consent_page_and_the_code_leaves_the_address_bar(
    sandbox_world,
):
    world, browser = sandbox_world, sandbox_world.browser()
    location = world.locations["demo-loc-0001"]
    consent = _start(browser, world, kind="location", location=location.pk)
    callback = browser.consent(consent, locations=["demo-loc-0001"])
    assert callback.startswith(world.url + "/integrations/oauth/callback/?")

    landed = browser.get(callback, allow_redirects=False)
    assert landed.status_code == 302
    assert "code=" not in landed.headers["Location"]
    connection = Connection.objects.get(location=location)
    assert (
        urlsplit(landed.headers["Location"]).path
        == f"/admin/integrations/connection/{connection.pk}/change/"
    )
    assert connection.status == Connection.Status.ACTIVE
    assert (
        connection.kind == Connection.Kind.LOCATION
        and connection.auth_type == Connection.AuthType.OAUTH
    )
    assert connection.access_token and connection.refresh_token
    assert "contacts.readonly" in connection.scope_set

    # The stored token works against the sandbox's API through the door.
    answer = operation_run(
        connection_id=connection.pk,
        operation_id="GET /locations/{locationId}",
        params={"locationId": "demo-loc-0001"},
    )
    assert answer.status == 200 and answer.data["location"]["id"] == "demo-loc-0001"


def test_a_replayed_callback_is_refused_and_changes_nothing(sandbox_world):
    world, browser = sandbox_world, sandbox_world.browser()
    consent = _start(browser, world, kind="location", location=world.locations["demo-loc-0002"].pk)
    callback = browser.consent(consent, locations=["demo-loc-0002"])
    assert browser.get(callback, allow_redirects=False).status_code == 302
    connection = Connection.objects.get(location__location_id="demo-loc-0002")
    token = connection.access_token

    replay = browser.get(callback, allow_redirects=False)
    assert replay.status_code == 400
    assert "already used" in replay.text
    connection.refresh_from_db()
    assert connection.access_token == token


def test_a_wrong_state_is_refused_before_the_code_is_exchanged(sandbox_world):
    world, browser = sandbox_world, sandbox_world.browser()
    consent = _start(browser, world, kind="location", location=world.locations["demo-loc-0001"].pk)
    callback = browser.consent(consent, locations=["demo-loc-0001"])
    forged = re.sub(r"state=[^&]+", "state=forged-state-value", callback)
    refused = browser.get(forged, allow_redirects=False)
    assert refused.status_code == 400 and "state is" in refused.text
    assert not Connection.objects.exists()
    # The code was never spent: the genuine callback still works.
    assert browser.get(callback, allow_redirects=False).status_code == 302
    assert Connection.objects.get().status == Connection.Status.ACTIVE


def test_an_agency_consent_connects_fifty_installed_locations(sandbox_world, q_sync):
    from sandbox.access.services.registry import sandbox_company_ensure

    world, browser = sandbox_world, sandbox_world.browser()
    company_id = "e2e-company-50"
    sandbox_company_ensure(
        company_id=company_id,
        name="Fifty Agency",
        locations=[
            {"location_id": f"e2e-loc-{n:03d}", "name": f"Clinic {n:03d}"} for n in range(1, 51)
        ],
    )
    agency = Agency.objects.create(name="Fifty Agency", company_id=company_id)

    consent = _start(browser, world, kind="agency", agency=agency.pk)
    callback = browser.consent(consent, agency=[company_id])
    landed = browser.get(callback, allow_redirects=False)
    agency_connection = Connection.objects.get(agency=agency, location=None)
    assert agency_connection.kind == Connection.Kind.AGENCY
    assert landed.headers["Location"] == f"/integrations/agency/{agency_connection.pk}/locations/"

    listing = browser.get(landed.headers["Location"])
    assert listing.status_code == 200
    assert len(set(re.findall(r"e2e-loc-\d{3}", listing.text))) == 50

    progress = browser.post_form(landed.headers["Location"], {"all": "1"})
    assert progress.status_code == 200
    batch = LocationMintBatch.objects.get()
    assert urlsplit(progress.url).path == f"/integrations/batches/{batch.pk}/"
    assert (batch.status, batch.done, batch.failed, batch.total) == ("done", 50, 0, 50)
    assert "50 connected, 0 failed, of 50" in browser.get(f"/integrations/batches/{batch.pk}/").text

    minted = Connection.objects.filter(parent=agency_connection)
    assert minted.count() == 50
    assert set(minted.values_list("auth_type", flat=True)) == {Connection.AuthType.AGENCY_MINTED}
    # A minted location token really is a token for its own location.
    one = minted.get(location__location_id="e2e-loc-037")
    answer = operation_run(connection_id=one.pk, operation_id="GET /contacts/")
    assert answer.status == 200 and answer.data["contacts"] == []
