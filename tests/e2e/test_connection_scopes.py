"""*Test connection* against the sandbox names the scopes the location's flows miss."""

import pytest

from integrations.catalog.registry import registry
from integrations.sync.connections import connection_test
from mappings.models import Mapping
from tests.e2e.conftest import location_connect

pytestmark = pytest.mark.slow


def _flow(location, operation_key):
    Mapping.objects.create(
        location=location,
        name=operation_key,
        entity="contact",
        direction="ghl_to_rankr",
        operation_key=operation_key,
    )


def test_test_connection_names_each_scope_the_flows_need_but_consent_did_not_grant(sandbox_world):
    world = sandbox_world
    world.app.scopes = "contacts.readonly locations.readonly"  # what the consent page asks for
    world.app.save()
    connection = location_connect(world, "demo-loc-0001")
    assert connection.scope_set == {"contacts.readonly", "locations.readonly"}
    location = connection.location
    for key in ("GET /contacts/{contactId}", "POST /contacts/", "GET /calendars/"):
        _flow(location, key)
    _flow(world.locations["demo-loc-0002"], "DELETE /contacts/{contactId}")  # another location's
    assert registry()["GET /calendars/"].scopes == ("calendars.readonly",)

    report = connection_test(connection_id=connection.pk)
    assert not report.ok and report.message == "Connected, but scopes are missing."
    assert report.missing_scopes == [
        "calendars.readonly (GET /calendars/)",
        "contacts.write (POST /contacts/)",
    ]
    assert report.rate_remaining.endswith(" of 100") and report.latency_ms >= 0

    page = world.browser().post_form(
        "/admin/integrations/connection/",
        {"action": "test_connection", "_selected_action": connection.pk},
    )
    assert page.status_code == 200
    assert (
        "Missing scopes: calendars.readonly (GET /calendars/), contacts.write (POST /contacts/)."
    ) in page.text


def test_test_connection_is_ok_when_consent_granted_every_needed_scope(sandbox_world):
    connection = location_connect(sandbox_world, "demo-loc-0001")
    _flow(connection.location, "POST /contacts/")
    report = connection_test(connection_id=connection.pk)
    assert report.ok and report.missing_scopes == [] and report.message == "Connected."


def test_test_connection_names_a_scope_only_the_scopes_doc_gives(sandbox_world):
    """GET /social-media-posting/{locationId}/tags has no scope in the spec; Scopes.md names one."""
    world = sandbox_world
    world.app.scopes = "contacts.readonly locations.readonly"
    world.app.save()
    connection = location_connect(world, "demo-loc-0001")
    _flow(connection.location, "GET /social-media-posting/{locationId}/tags")
    report = connection_test(connection_id=connection.pk)
    assert report.missing_scopes == [
        "socialplanner/tag.readonly (GET /social-media-posting/{locationId}/tags)"
    ]
