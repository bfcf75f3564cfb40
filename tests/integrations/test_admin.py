import io
from datetime import timedelta

import pytest
import responses
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from integrations.checks import check_live_apps_have_credentials
from integrations.models import Connection, HighLevelApp, SyncLog
from portal.models import Agency, AuditEvent, Location
from portal.roles import AGENCY_STAFF, AUDITOR, ROLE_PERMISSIONS, SUPPORT
from tests.integrations.conftest import ACCESS, connection_make

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def superuser_client(client):
    client.force_login(User.objects.create_superuser("root", "r@x.test", "pw"))
    return client


def _role_client(client, role, *, locations=()):
    user = User.objects.create_user(
        f"u-{role}", f"{role}@x.test".replace(" ", ""), "pw", is_staff=True
    )
    user.groups.add(Group.objects.get(name=role))
    if role in (AUDITOR, SUPPORT):  # members of the (one) agency of these tests
        user.member_agencies.add(*Agency.objects.all())
    for location in locations:
        location.staff.add(user)
    client.force_login(user)
    return client


@pytest.fixture
def two_connections(ghl_app, location):
    other = Location.objects.create(
        agency=location.agency, location_id="loc-2", name="Harbour Plumbing"
    )
    mine = connection_make(app=ghl_app, location=location)
    theirs = connection_make(app=ghl_app, location=other)
    SyncLog.objects.create(
        connection=mine, location=location, method="GET", path="/mine", status=200
    )
    SyncLog.objects.create(
        connection=theirs, location=other, method="GET", path="/theirs", status=200
    )
    return mine, theirs


def test_role_groups_hold_exactly_the_integrations_permissions_of_the_table():
    for role, perms in ROLE_PERMISSIONS.items():
        granted = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Permission.objects.filter(
                group__name=role, content_type__app_label="integrations"
            )
        }
        assert granted == {p for p in perms if p.startswith("integrations.")}


def test_staff_see_only_their_locations_connections_and_sync_logs(
    client, two_connections, location
):
    mine, theirs = two_connections
    staff = _role_client(client, AGENCY_STAFF, locations=[location])
    page = staff.get("/admin/integrations/connection/")
    assert page.status_code == 200
    assert b"Northside Dental" in page.content and b"Harbour Plumbing" not in page.content
    assert staff.get(f"/admin/integrations/connection/{theirs.pk}/change/").status_code == 302
    assert staff.get(f"/admin/integrations/connection/{mine.pk}/change/").status_code == 200
    assert staff.get("/admin/integrations/synclog/").status_code == 403  # not a staff permission


@pytest.mark.parametrize("role", [AUDITOR, SUPPORT])
def test_auditors_and_support_see_every_connection_and_sync_log_of_their_agency_read_only(
    client, two_connections, role
):
    viewer = _role_client(client, role)
    page = viewer.get("/admin/integrations/connection/")
    assert b"Northside Dental" in page.content and b"Harbour Plumbing" in page.content
    logs = viewer.get("/admin/integrations/synclog/")
    assert b"/mine" in logs.content and b"/theirs" in logs.content
    assert b"Test connection" not in page.content  # actions need change permission
    mine, _ = two_connections
    viewer.post(
        "/admin/integrations/connection/",
        {"action": "disconnect", "_selected_action": [mine.pk], "confirmed": "yes"},
    )
    assert Connection.objects.get(pk=mine.pk).status == "active"


def test_the_sync_log_is_append_only_even_for_superusers(superuser_client, two_connections):
    entry = SyncLog.objects.first()
    assert superuser_client.get("/admin/integrations/synclog/add/").status_code == 403
    assert (
        superuser_client.get(f"/admin/integrations/synclog/{entry.pk}/delete/").status_code == 403
    )
    superuser_client.post(f"/admin/integrations/synclog/{entry.pk}/change/", {"path": "/edited"})
    assert SyncLog.objects.get(pk=entry.pk).path != "/edited"
    listing = superuser_client.get("/admin/integrations/synclog/")
    assert b'value="delete_selected"' not in listing.content


def test_test_connection_reports_latency_headroom_and_missing_scopes(
    superuser_client, connection, mocked, api_base
):
    from mappings.models import Mapping

    # A flow of this location reads the location record: it needs locations.readonly.
    Mapping.objects.create(
        location=connection.location,
        name="Location details",
        entity="contact",
        direction="ghl_to_rankr",
        operation_key="GET /locations/{locationId}",
    )
    mocked.add(
        responses.GET,
        f"{api_base}/locations/loc-1",
        json={"location": {"id": "loc-1"}},
        headers={
            "X-RateLimit-Remaining": "97",
            "X-RateLimit-Max": "100",
            "X-RateLimit-Daily-Remaining": "199000",
            "X-RateLimit-Limit-Daily": "200000",
        },
    )
    page = superuser_client.post(
        "/admin/integrations/connection/",
        {"action": "test_connection", "_selected_action": [connection.pk]},
        follow=True,
    )
    text = page.content.decode()
    assert "ms; burst left 97 of 100; daily left 199000 of 200000" in text
    assert "Missing scopes: locations.readonly (GET /locations/{locationId})." in text


def test_refresh_token_now_and_disconnect(superuser_client, connection, mocked, token_url):
    mocked.add(
        responses.POST,
        token_url,
        json={
            "access_token": "at-now-xxxxxxxx",
            "refresh_token": "rt-now-xxxxxxxx",
            "expires_in": 600,
        },
    )
    superuser_client.post(
        "/admin/integrations/connection/",
        {"action": "refresh_token_now", "_selected_action": [connection.pk]},
    )
    connection.refresh_from_db()
    assert connection.access_token == "at-now-xxxxxxxx"
    SyncLog.objects.create(connection=connection, method="GET", path="/kept", status=200)
    asked = superuser_client.post(
        "/admin/integrations/connection/",
        {"action": "disconnect", "_selected_action": [connection.pk]},
    )
    assert b"Yes, disconnect 1" in asked.content  # the first post only asks
    connection.refresh_from_db()
    assert connection.status == "active"
    superuser_client.post(
        "/admin/integrations/connection/",
        {"action": "disconnect", "_selected_action": [connection.pk], "confirmed": "yes"},
    )
    connection.refresh_from_db()
    assert connection.status == "disconnected"
    assert connection.access_token_encrypted == "" and connection.refresh_token_encrypted == ""
    assert SyncLog.objects.filter(connection=connection).count() == 2  # history kept
    assert AuditEvent.objects.filter(action="connection.disconnect").exists()


def test_invalid_grant_shows_a_clear_message_on_the_connections_list(superuser_client, connection):
    Connection.objects.filter(pk=connection.pk).update(
        status="needs_reauth", last_error="HighLevel refused the grant"
    )
    page = superuser_client.get("/admin/integrations/connection/")
    assert b"1 connection needs re-auth" in page.content


def test_a_private_integration_token_is_stored_encrypted_and_never_shown(
    superuser_client, ghl_app, location
):
    token = "pit-1234567890-abcdef"
    response = superuser_client.post(
        "/admin/integrations/connection/add/",
        {
            "app": ghl_app.pk,
            "agency": location.agency.pk,
            "location": location.pk,
            "new_private_token": token,
        },
    )
    assert response.status_code == 302
    connection = Connection.objects.get()
    assert (connection.auth_type, connection.kind, connection.access_token) == (
        "private",
        "location",
        token,
    )
    page = superuser_client.get(f"/admin/integrations/connection/{connection.pk}/change/")
    assert (
        token.encode() not in page.content
        and connection.access_token_encrypted.encode() not in page.content
    )


def test_adding_a_connection_without_a_token_explains_how_to_connect(
    superuser_client, ghl_app, location
):
    response = superuser_client.post(
        "/admin/integrations/connection/add/",
        {"app": ghl_app.pk, "agency": location.agency.pk, "location": location.pk},
    )
    assert response.status_code == 200 and b"Connect location" in response.content
    assert not Connection.objects.exists()


def test_the_app_form_never_renders_the_client_secret(superuser_client, ghl_app):
    page = superuser_client.get(f"/admin/integrations/highlevelapp/{ghl_app.pk}/change/")
    assert (
        b"cs-secret" not in page.content
        and ghl_app.client_secret_encrypted.encode() not in page.content
    )


def test_live_app_without_credentials_fails_the_system_check(ghl_app):
    assert check_live_apps_have_credentials(None, databases=["default"]) == []
    HighLevelApp.objects.create(
        name="Broken", mode="live", client_id="", redirect_url="https://x.test/cb/"
    )
    errors = check_live_apps_have_credentials(None, databases=["default"])
    assert [e.id for e in errors] == ["integrations.E001"] and "Broken" in errors[0].msg


def test_prune_sync_logs_deletes_only_older_entries(connection):
    old = SyncLog.objects.create(method="GET", path="/old", status=200)
    SyncLog.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=91))
    SyncLog.objects.create(method="GET", path="/new", status=200)
    out = io.StringIO()
    call_command("prune_sync_logs", "--older-than", "90d", stdout=out)
    assert list(SyncLog.objects.values_list("path", flat=True)) == ["/new"]
    assert "Deleted 1" in out.getvalue()
    with pytest.raises(CommandError, match="90d"):
        call_command("prune_sync_logs", "--older-than", "ninety")


@pytest.mark.parametrize("role", [AGENCY_STAFF, AUDITOR, SUPPORT])
def test_every_integrations_admin_page_opens_for_each_role(client, two_connections, location, role):
    user_client = _role_client(client, role, locations=[location])
    mine, _ = two_connections
    urls = {
        "/admin/integrations/connection/": "integrations.view_connection",
        f"/admin/integrations/connection/{mine.pk}/change/": "integrations.view_connection",
        "/admin/integrations/synclog/": "integrations.view_synclog",
        f"/admin/integrations/synclog/{SyncLog.objects.filter(connection=mine).first().pk}/change/": "integrations.view_synclog",
        "/admin/integrations/highlevelapp/": "integrations.view_highlevelapp",
        "/admin/integrations/locationmintbatch/": "integrations.view_locationmintbatch",
        "/integrations/connect/?kind=location": "integrations.add_connection",
    }
    for url, perm in urls.items():
        expected = 200 if perm in ROLE_PERMISSIONS[role] else 403
        assert user_client.get(url).status_code == expected, (url, role)
    assert ACCESS.encode() not in user_client.get("/admin/integrations/connection/").content
