"""Alerts: the right people only, once an hour per location and cause, one incident for many
locations, and a webhook whose signature a receiver can verify."""

import json
from datetime import timedelta

import pytest
import responses
from django.core import mail
from django.utils import timezone

from integrations.ghl.errors import GhlError
from integrations.models import Connection, HighLevelApp, Job
from integrations.sync.alerts import (
    SIGNATURE_HEADER,
    alert_raise,
    alert_signature_verify,
    alerts_send,
)
from integrations.sync.jobs import job_run
from portal.models import AlertCause, AlertIncident, AlertSetting, Location

pytestmark = pytest.mark.django_db
LATER = timedelta(minutes=2)  # past the gathering wait


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ALERT_GROUP_SECONDS = 60
    settings.ALERT_WEBHOOK_URL = ""


@pytest.fixture
def alert_app(db):
    app = HighLevelApp(name="Rankr", client_id="cid", redirect_url="http://testserver/cb/")
    app.client_secret = "secret-value"
    app.save()
    return app


def recipients():
    return sorted(address for message in mail.outbox for address in message.to)


def test_a_needs_reauth_connection_alerts_its_staff_and_support_only(
    alert_app, role_users, locations, monkeypatch
):
    from integrations.ghl import oauth

    connection = Connection(app=alert_app, agency=locations["A"].agency, location=locations["A"])
    connection.access_token = "token-value"
    connection.save()
    oauth._mark_needs_reauth(
        connection, GhlError("invalid_grant: refresh token revoked", permanent=True)
    )
    assert alerts_send() == []  # still gathering the burst
    [incident] = alerts_send(now=timezone.now() + LATER)
    assert incident.cause == AlertCause.NEEDS_REAUTH
    # Staff is assigned to A; support is the Support group; the auditor and the superuser are not told.
    assert recipients() == ["staffer@example.test", "supporter@example.test"]
    body = mail.outbox[0].body
    assert "Location A" in body and f"/admin/locations/{locations['A'].pk}/" in body
    assert "invalid_grant" in body


def test_a_dead_job_alerts_once_per_hour_per_location(role_users, locations, monkeypatch):
    from integrations.sync import jobs

    monkeypatch.setitem(jobs.JOB_HANDLERS, "poll", "tests.integrations.test_alerts.handler_down")

    def die(key):
        job = Job.objects.create(
            kind="poll", location=locations["B"], idempotency_key=key, max_attempts=1
        )
        assert job_run(job_id=job.pk) == Job.Status.DEAD

    die("d1")
    alerts_send(now=timezone.now() + LATER)
    assert recipients() == ["staffer@example.test", "supporter@example.test"]
    assert "dead" in mail.outbox[0].subject.lower() or "died" in mail.outbox[0].subject.lower()
    mail.outbox.clear()
    die("d2")  # the same cause again within the hour: nobody is told twice
    assert alerts_send(now=timezone.now() + LATER * 2) == [] and mail.outbox == []
    die("d3")
    [again] = alerts_send(now=timezone.now() + timedelta(hours=1, minutes=5))
    assert len(mail.outbox) == 2 and again.locations.get() == locations["B"]


def handler_down(job):
    raise GhlError("HighLevel answered 503", status=503, permanent=False)


def test_an_outage_across_many_locations_is_one_incident_listing_them(
    agency, role_users, locations
):
    many = [
        Location.objects.create(agency=agency, location_id=f"loc-m{i:03d}", name=f"Clinic {i:03d}")
        for i in range(300)
    ]
    many[0].staff.add(role_users["staff"])
    for location in many:
        alert_raise(
            cause=AlertCause.JOB_DEAD, location_id=location.pk, detail={"message": "HTTP 503"}
        )
    incidents = alerts_send(now=timezone.now() + LATER)
    assert len(incidents) == 1 and incidents[0].locations.count() == 300
    assert "300 locations of Acme Agency" in incidents[0].subject
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {"staffer@example.test", "supporter@example.test"}
    assert by_address["supporter@example.test"].body.count("- Clinic") == 300
    staff_body = by_address["staffer@example.test"].body
    assert staff_body.count("- Clinic") == 1 and "Clinic 000" in staff_body  # only theirs


def test_each_user_can_turn_alerts_off(client, role_users, locations):
    client.force_login(role_users["staff"])
    page = client.get("/admin/alerts/settings/")
    assert page.status_code == 200 and b"email_alerts" in page.content
    answer = client.post("/admin/alerts/settings/", {})  # box unticked
    assert answer.status_code == 302
    assert AlertSetting.objects.get(user=role_users["staff"]).email_alerts is False
    alert_raise(cause=AlertCause.JOB_DEAD, location_id=locations["A"].pk)
    alerts_send(now=timezone.now() + LATER)
    assert recipients() == ["supporter@example.test"]


@responses.activate
def test_the_webhook_is_signed_and_the_signature_verifies(settings, role_users, locations):
    settings.ALERT_WEBHOOK_URL = "https://hooks.example.test/portal"
    settings.ALERT_WEBHOOK_SECRET = "whsec-test-secret-value"
    responses.post(settings.ALERT_WEBHOOK_URL, status=200)
    alert_raise(cause=AlertCause.NEEDS_REAUTH, location_id=locations["A"].pk)
    alert_raise(cause=AlertCause.NEEDS_REAUTH, location_id=locations["C"].pk)
    [_incident] = alerts_send(now=timezone.now() + LATER)
    [call] = responses.calls
    body, header = call.request.body, call.request.headers[SIGNATURE_HEADER]
    assert alert_signature_verify(secret="whsec-test-secret-value", header=header, body=body)
    assert not alert_signature_verify(secret="another-secret", header=header, body=body)
    assert not alert_signature_verify(
        secret="whsec-test-secret-value", header=header, body=body + b" "
    )
    payload = json.loads(body)
    assert payload["cause"] == "needs_reauth" and len(payload["locations"]) == 2
    assert payload["locations"][0]["url"].endswith(f"/admin/locations/{locations['A'].pk}/")
    assert AlertIncident.objects.get().webhook_status == "HTTP 200"


def test_the_location_page_lists_the_alerts_sent(client, role_users, locations):
    alert_raise(cause=AlertCause.JOB_DEAD, location_id=locations["A"].pk)
    alerts_send(now=timezone.now() + LATER)
    client.force_login(role_users["staff"])
    html = client.get(f"/admin/locations/{locations['A'].pk}/").content.decode()
    assert "job died" in html and "emailed to 2 people" in html
