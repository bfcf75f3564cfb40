"""Lifecycle webhooks, signed and shaped like the docs' examples (specs/highlevel/docs/webhook
events/): UNINSTALL stops a connection's work with a clear message, LocationCreate offers or
connects a new sub-account, LocationUpdate renames, and events for a location the portal does not
know yet wait and are applied once it is connected."""

import base64
import json
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from integrations.interfaces.dashboard import dashboard_locations
from integrations.models import Connection, Job, LocationMintBatch, Subscription, WebhookEvent
from integrations.sync.jobs import job_enqueue
from integrations.sync.webhooks_in import webhook_events_release
from mappings.services import mapping_template_apply
from portal.models import AuditEvent, Location
from rankr.models import Contact
from tests.integrations.conftest import connection_make

URL = "/integrations/webhooks/highlevel/"
APP_ID = "app123"  # the ghl_app fixture's client id is "app123-client"


def deliver(client, key, payload):
    body = {**payload, "timestamp": timezone.now().isoformat(), "webhookId": uuid.uuid4().hex}
    raw = json.dumps(body).encode()
    signature = base64.b64encode(key.sign(raw)).decode()
    response = client.post(
        URL, raw, content_type="application/json", HTTP_X_GHL_SIGNATURE=signature
    )
    assert response.status_code == 200, response.content
    return WebhookEvent.objects.get(webhook_id=body["webhookId"])


def subscription_make(connection, location):
    mapping = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )[0]
    return Subscription.objects.create(
        location=location,
        connection=connection,
        trigger="ContactCreated",
        operation="POST /contacts/search",
        mapping=mapping,
    )


@pytest.mark.django_db(transaction=True)
def test_uninstall_marks_the_connection_uninstalled_and_stops_its_subscriptions_and_jobs(
    client, signing_key, ghl_app, location, other_location, q_sync
):
    connection = connection_make(app=ghl_app, location=location)
    other = connection_make(app=ghl_app, location=other_location)
    subscription = subscription_make(connection, location)
    job_enqueue(
        kind=Job.Kind.POLL,
        idempotency_key="poll:1",
        location_id=location.pk,
        connection_id=connection.pk,
        send=False,
    )
    event = deliver(
        client,
        signing_key,
        {"type": "UNINSTALL", "appId": APP_ID, "locationId": location.location_id},
    )

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert "1 connection(s) marked uninstalled" in event.reason
    connection.refresh_from_db()
    assert connection.status == Connection.Status.UNINSTALLED
    assert connection.access_token_encrypted == "" and connection.refresh_token_encrypted == ""
    assert "uninstalled in HighLevel" in connection.last_error
    subscription.refresh_from_db()
    assert subscription.paused and "uninstalled in HighLevel" in subscription.last_run_error
    job = Job.objects.get(idempotency_key="poll:1")
    assert job.status == Job.Status.FAILED and job.error_class == "AppUninstalled"
    assert "Install it again in HighLevel and connect again" in job.error_message
    # The other location's connection is untouched; the dashboard names the cause.
    other.refresh_from_db()
    assert other.status == Connection.Status.ACTIVE
    assert AuditEvent.objects.filter(action="connection.uninstalled", location=location).exists()
    admin = get_user_model().objects.create_superuser("root", "root@x.io", "pw-123456789012")
    health = {row.location.pk: row for row in dashboard_locations(user=admin)}
    assert "app uninstalled in HighLevel" in health[location.pk].problems
    assert health[location.pk].failing


@pytest.mark.django_db(transaction=True)
def test_an_agency_uninstall_stops_every_connection_of_the_company(
    client, signing_key, ghl_app, agency, location, other_location, q_sync
):
    agency_connection = Connection(
        app=ghl_app, agency=agency, kind=Connection.Kind.AGENCY, scopes="locations.readonly"
    )
    agency_connection.access_token = "at-agency"
    agency_connection.save()
    minted = connection_make(app=ghl_app, location=location, parent=agency_connection)
    deliver(
        client, signing_key, {"type": "UNINSTALL", "appId": APP_ID, "companyId": agency.company_id}
    )
    statuses = set(
        Connection.objects.filter(pk__in=[agency_connection.pk, minted.pk]).values_list(
            "status", flat=True
        )
    )
    assert statuses == {Connection.Status.UNINSTALLED}


@pytest.mark.django_db(transaction=True)
def test_an_uninstall_of_another_app_changes_nothing(
    client, signing_key, ghl_app, location, q_sync
):
    connection = connection_make(app=ghl_app, location=location)
    deliver(
        client,
        signing_key,
        {"type": "UNINSTALL", "appId": "someone-else", "locationId": location.location_id},
    )
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE


LOCATION_CREATE = {
    "type": "LocationCreate",
    "id": "ve9EPM428h8vShlRW1KT",
    "companyId": "comp-1",
    "name": "Loram ipsum",
    "email": "mailer@example.com",
    "stripeProductId": "prod_xyz123abc",
}


@pytest.mark.django_db(transaction=True)
def test_location_create_offers_the_new_sub_account_of_a_known_agency(
    client, signing_key, agency, q_sync
):
    event = deliver(client, signing_key, LOCATION_CREATE)
    event.refresh_from_db()
    location = Location.objects.get(location_id="ve9EPM428h8vShlRW1KT")
    assert (location.agency, location.name) == (agency, "Loram ipsum")
    assert event.status == WebhookEvent.Status.PROCESSED and event.location == location
    assert "added, not connected" in event.reason
    assert not LocationMintBatch.objects.exists()
    admin = get_user_model().objects.create_superuser("root", "root@x.io", "pw-123456789012")
    health = {row.location.pk: row for row in dashboard_locations(user=admin)}
    assert health[location.pk].problems == ["not connected"]


@pytest.mark.django_db(transaction=True)
def test_location_create_connects_at_once_when_the_agency_chose_so(
    client, signing_key, ghl_app, agency, q_sync, monkeypatch
):
    agency.auto_connect_new_locations = True
    agency.save()
    agency_connection = Connection(
        app=ghl_app, agency=agency, kind=Connection.Kind.AGENCY, scopes="oauth.write"
    )
    agency_connection.access_token = "at-agency"
    agency_connection.token_expires_at = timezone.now() + timedelta(hours=1)
    agency_connection.save()
    minted = []
    monkeypatch.setattr(
        "integrations.sync.onboarding.location_mint",
        lambda **kw: minted.append((kw["agency_connection"].pk, kw["hl_location_id"])),
    )
    event = deliver(client, signing_key, LOCATION_CREATE)
    event.refresh_from_db()
    assert "connecting through the agency connection" in event.reason
    batch = LocationMintBatch.objects.get()
    assert batch.requested[0]["id"] == "ve9EPM428h8vShlRW1KT"
    assert minted == [(agency_connection.pk, "ve9EPM428h8vShlRW1KT")]


@pytest.mark.django_db(transaction=True)
def test_location_create_for_an_unknown_agency_is_kept_with_why(client, signing_key, q_sync):
    event = deliver(client, signing_key, {**LOCATION_CREATE, "companyId": "comp-unknown"})
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED and "comp-unknown" in event.reason
    assert not Location.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_location_update_renames_the_location(client, signing_key, location, q_sync):
    deliver(
        client,
        signing_key,
        {**LOCATION_CREATE, "type": "LocationUpdate", "id": location.location_id, "name": "New"},
    )
    location.refresh_from_db()
    assert location.name == "New"


@pytest.mark.django_db(transaction=True)
def test_an_event_for_a_location_not_known_yet_waits_and_is_applied_once_it_is_connected(
    client, signing_key, ghl_app, agency, q_sync
):
    contact = {"type": "ContactCreate", "locationId": "loc-later", "id": "c-9", "email": "a@b.io"}
    event = deliver(client, signing_key, contact)
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.WAITING and "loc-later" in event.reason
    assert webhook_events_release() == 0  # still unknown: it keeps waiting

    later = Location.objects.create(agency=agency, location_id="loc-later", name="Later")
    mapping_template_apply(template_key="ghl_contact_upsert", location_id=later.pk, user_id=None)
    assert webhook_events_release() == 0  # known, but not connected yet
    connection_make(app=ghl_app, location=later)
    assert webhook_events_release() == 1

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED and event.location == later
    assert Contact.objects.get(location=later).ghl_id == "c-9"
    assert Job.objects.get(idempotency_key=f"webhook:{event.webhook_id}").status == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_location_update_reads_the_time_zone_highlevel_keeps_for_the_location(
    client, signing_key, ghl_app, location, q_sync, mocked, api_base
):
    connection = connection_make(app=ghl_app, location=location)
    connection.scopes += " locations.readonly"
    connection.save(update_fields=["scopes"])
    mocked.get(
        f"{api_base}/locations/{location.location_id}",
        json={"location": {"id": location.location_id, "name": "New", "timezone": "Europe/Paris"}},
    )
    deliver(
        client,
        signing_key,
        {**LOCATION_CREATE, "type": "LocationUpdate", "id": location.location_id, "name": "New"},
    )
    job = Job.objects.get(kind=Job.Kind.LOCATION)
    assert job.status == Job.Status.SUCCEEDED, (job.status, job.error_message)
    location.refresh_from_db()
    assert (location.name, location.time_zone) == ("New", "Europe/Paris")
    assert job.status == Job.Status.SUCCEEDED and job.result["changed"] == ["time_zone"]
