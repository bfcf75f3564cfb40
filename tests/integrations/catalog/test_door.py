"""The sending path: operation_run / operation_pages through the HTTP door, and connection scoping.

The door is `integrations.ghl.client.ghl_request`, with `responses` at its HTTP end.
"""

import re
import types

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.urls import reverse

from integrations.catalog.calls import OperationRefused
from integrations.catalog.services import call_send, operation_check, operation_pages, operation_run


def test_a_prepared_call_maps_onto_the_agreed_door_interface(monkeypatch, location_connection):
    """What the catalog hands the door: which keyword gets what."""
    sent = []
    door = types.ModuleType("integrations.ghl.client")
    door.ghl_request = lambda **kwargs: sent.append(kwargs) or "answer"
    monkeypatch.setitem(__import__("sys").modules, "integrations.ghl.client", door)
    call = operation_check(
        connection=location_connection,
        operation_id="GET /calendars/",
    )
    assert call_send(connection_id=7, call=call, job_id=42) == "answer"
    assert sent == [
        {
            "connection_id": 7,
            "method": "GET",
            "path": "/calendars/",
            "operation_id": "GET /calendars/",
            "version": "2021-04-15",
            "params": {"locationId": "LOC123"},
            "json": None,
            "data": None,
            "files": None,
            "job_id": 42,
            "headers": None,
            "max_attempts": None,
            "retry_safe": True,
            "record_ids": (),  # the path names no record (only the location, in the query)
            "scope": None,  # a page loop's (operation_pages)
        }
    ]


def connection_make(*, scopes, location=None):
    """A location connection as the connections work models it (app, kind, space-separated scopes)."""
    from datetime import timedelta

    from django.utils import timezone

    from portal.models import Agency, Location

    Connection = apps.get_model("integrations", "Connection")
    HighLevelApp = apps.get_model("integrations", "HighLevelApp")
    app = HighLevelApp.objects.first() or HighLevelApp.objects.create(
        name="Rankr",
        mode="sandbox",
        client_id="app123-client",
        redirect_url="http://testserver/integrations/oauth/callback/",
    )
    agency = Agency.objects.get_or_create(company_id="CO9", defaults={"name": "Acme"})[0]
    location = location or Location.objects.create(
        agency=agency, location_id="LOC123", name="Dental"
    )
    connection = Connection(
        app=app,
        agency=location.agency,
        location=location,
        kind="location",
        scopes=" ".join(scopes),
    )
    connection.access_token = "at-catalog-test"
    connection.refresh_token = "rt-catalog-test"
    connection.token_expires_at = timezone.now() + timedelta(hours=1)
    connection.save()
    return connection


@pytest.mark.django_db
def test_operation_run_sends_the_validated_request_through_the_door():
    import responses
    from responses import matchers

    connection = connection_make(scopes=["contacts.readonly"])
    with responses.RequestsMock() as mock:
        mock.get(
            re.compile(r".*/contacts/c1$"),
            json={"contact": {"id": "c1"}},
            match=[matchers.header_matcher({"Version": "2021-07-28"}, strict_match=False)],
        )
        response = operation_run(
            connection_id=connection.pk,
            operation_id="GET /contacts/{contactId}",
            params={"contactId": "c1"},
        )
    assert response.status == 200 and response.data == {"contact": {"id": "c1"}}


@pytest.mark.django_db
def test_operation_pages_follows_start_after_until_the_last_page():
    import responses

    connection = connection_make(scopes=["contacts.readonly"])
    first = {
        "contacts": [{"id": "a"}, {"id": "b"}],
        "meta": {"nextPageUrl": "https://x/contacts/?startAfter=2&startAfterId=b"},
    }
    last = {"contacts": [{"id": "c"}], "meta": {"nextPageUrl": None}}
    with responses.RequestsMock() as mock:
        mock.get(re.compile(r".*/contacts/\?.*startAfterId=b.*"), json=last)
        mock.get(re.compile(r".*/contacts/\?.*"), json=first)
        pages = list(
            operation_pages(connection_id=connection.pk, operation_id="GET /contacts/", limit=2)
        )
    assert [p.data for p in pages] == [first, last]


@pytest.mark.django_db
def test_operation_run_refuses_a_missing_scope_before_sending():
    connection = connection_make(scopes=["contacts.readonly"])
    with pytest.raises(OperationRefused, match=r"contacts\.write"):
        operation_run(
            connection_id=connection.pk,
            operation_id="DELETE /contacts/{contactId}",
            params={"contactId": "c1"},
        )


@pytest.mark.django_db
def test_the_run_form_offers_only_connections_the_user_may_see(client):
    from portal.models import Agency, Location

    agency = Agency.objects.create(name="Acme", company_id="CO9")
    mine = Location.objects.create(agency=agency, location_id="L1", name="Mine")
    theirs = Location.objects.create(agency=agency, location_id="L2", name="Theirs")
    user = User.objects.create_user("sam", password="x", is_staff=True)
    mine.staff.add(user)
    visible = connection_make(scopes=[], location=mine)
    hidden = connection_make(scopes=[], location=theirs)
    client.force_login(user)
    html = client.get(reverse("catalog:run") + "?op=GET+/contacts/").content.decode()
    assert f'value="{visible.pk}"' in html and f'value="{hidden.pk}"' not in html
    chosen = client.get(reverse("catalog:run") + f"?op=GET+/contacts/&connection={visible.pk}")
    assert f'value="{visible.pk}" selected' in chosen.content.decode()
    response = client.post(
        reverse("catalog:run") + "?op=GET+/contacts/", {"connection": hidden.pk, "dry_run": "on"}
    )
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.django_db
def test_the_admin_names_a_missing_scope(client):
    connection = connection_make(scopes=["contacts.readonly"])
    user = User.objects.create_superuser("root", password="x")
    client.force_login(user)
    html = client.post(
        reverse("catalog:run") + "?op=POST+/opportunities/",
        {"connection": connection.pk, "dry_run": "on", "body": "{}"},
    ).content.decode()
    assert "lacks the scope opportunities.write" in html


@pytest.mark.django_db
def test_the_admin_sends_and_shows_status_answer_and_trace_id(client):
    import responses

    from portal.models import AuditEvent

    connection = connection_make(scopes=["contacts.readonly"])
    client.force_login(User.objects.create_superuser("root", password="x"))
    with responses.RequestsMock() as mock:
        mock.get(
            re.compile(r".*/contacts/c1$"),
            json={"contact": {"id": "c1"}},
            headers={"traceid": "trace-123"},
        )
        html = client.post(
            reverse("catalog:run") + "?op=GET+/contacts/{contactId}",
            {"connection": connection.pk, "p_contactId": "c1"},
            follow=True,
        ).content.decode()
    assert "Sent: status 200" in html and "&quot;c1&quot;" in html
    event = AuditEvent.objects.get(action="catalog.run")
    assert event.detail["status"] == 200 and event.target == "GET /contacts/{contactId}"
