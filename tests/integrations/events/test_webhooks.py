"""Webhook events become "webhook" jobs that apply the record through the polled path."""

import base64
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from integrations.models import Job, WebhookEvent
from integrations.sync import webhooks_in as webhook_services
from integrations.sync.jobs import job_run
from integrations.sync.webhook_events import ROUTES, webhook_event_enqueue, webhook_job_run
from mappings.services import mapping_page_apply, mapping_version_latest
from rankr.models import Appointment, Contact, Task

CONTACT = {
    "type": "ContactCreate",
    "locationId": "loc-1",
    "id": "c-1",
    "email": " Ada@Example.COM ",
    "firstName": "Ada",
    "lastName": "Lovelace",
    "phone": "(415) 555-0100",
    "tags": ["vip"],
    "companyName": "Engines",
    "source": "form",
}


_sent = itertools.count(1)


def event_make(location, payload, webhook_id="wh-1"):
    """A stored event; each one sent a second after the one before, as HighLevel would date them."""
    stamp = (
        f"{datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=next(_sent)):%Y-%m-%dT%H:%M:%SZ}"
    )
    return WebhookEvent.objects.create(
        webhook_id=webhook_id,
        event_type=payload["type"],
        highlevel_location_id=location.location_id,
        location=location,
        payload={**payload, "webhookId": webhook_id, "timestamp": stamp},
    )


def process(event):
    webhook_event_enqueue(event)
    job = Job.objects.get(idempotency_key=f"webhook:{event.webhook_id}")
    assert job_run(job_id=job.pk) == Job.Status.SUCCEEDED, Job.objects.get(pk=job.pk).error_message
    job.refresh_from_db()
    return job


def test_every_record_event_type_is_registered_with_the_webhook_service():
    for event_type in [
        "ContactCreate",
        "ContactUpdate",
        "ContactDelete",
        "ContactTagUpdate",
        "TaskCreate",
        "TaskComplete",
        "TaskDelete",
        "NoteCreate",
        "NoteUpdate",
        "NoteDelete",
        "AppointmentCreate",
        "AppointmentUpdate",
        "AppointmentDelete",
        "UserCreate",
    ]:
        assert webhook_services.EVENT_HANDLERS[event_type] is webhook_event_enqueue
    assert set(ROUTES) <= set(webhook_services.EVENT_HANDLERS)


@pytest.mark.django_db
def test_a_contact_event_is_a_job_keyed_by_webhook_id_that_maps_and_upserts(location, templates):
    job = process(event_make(location, CONTACT))
    assert (job.kind, job.subject, job.operation) == ("webhook", "c-1", "ContactCreate")
    contact = Contact.objects.get(location=location, ghl_id="c-1")
    assert (contact.email, contact.phone, contact.tags) == (
        "ada@example.com",
        "+14155550100",
        ["vip"],
    )
    assert job.result["created"] == 1
    assert (
        job.mapping_version_id
        == mapping_version_latest(mapping_id=templates["ghl_contact_upsert"].pk).pk
    )


@pytest.mark.django_db
def test_the_same_webhook_id_makes_one_job(location, templates):
    event = event_make(location, CONTACT)
    webhook_event_enqueue(event)
    webhook_event_enqueue(event)
    assert Job.objects.filter(kind="webhook").count() == 1


@pytest.mark.django_db
def test_a_contact_arriving_by_webhook_and_by_polling_stays_one_row(location, templates):
    process(event_make(location, CONTACT))
    polled = {k: v for k, v in CONTACT.items() if k != "type"} | {"firstName": "Augusta"}
    version = mapping_version_latest(mapping_id=templates["ghl_contact_upsert"].pk)
    mapping_page_apply(mapping_version=version, location_id=location.pk, records=[polled])
    process(event_make(location, {**CONTACT, "type": "ContactUpdate", "lastName": "King"}, "wh-2"))
    contact = Contact.objects.get(ghl_id="c-1")
    assert Contact.objects.count() == 1
    assert (contact.first_name, contact.last_name) == ("Ada", "King")


@pytest.mark.django_db
def test_a_redelivered_event_with_a_new_webhook_id_changes_nothing(location, templates):
    process(event_make(location, CONTACT))
    job = process(event_make(location, CONTACT, "wh-again"))
    assert job.result["unchanged"] == 1 and Contact.objects.count() == 1


@pytest.mark.django_db
def test_a_task_completed_in_highlevel_is_completed_in_rankr(location, templates):
    task = {
        "type": "TaskCreate",
        "locationId": "loc-1",
        "id": "t-1",
        "contactId": "c-1",
        "title": " Call back ",
        "body": "about the quote",
        "dueDate": "2026-12-01T10:00:00Z",
    }
    process(event_make(location, task))
    assert Task.objects.get(ghl_id="t-1").status == "open"
    process(event_make(location, {**task, "type": "TaskComplete"}, "wh-2"))
    row = Task.objects.get(ghl_id="t-1")
    assert (row.status, row.title, row.contact_ghl_id) == ("completed", "Call back", "c-1")


@pytest.mark.django_db
def test_a_delete_event_soft_deletes_and_a_repeat_is_harmless(location, templates):
    process(event_make(location, CONTACT))
    job = process(event_make(location, {**CONTACT, "type": "ContactDelete"}, "wh-2"))
    assert job.result == {"ghl_id": "c-1", "deleted": True}
    assert Contact.objects.get(ghl_id="c-1").deleted_at is not None
    again = process(event_make(location, {**CONTACT, "type": "ContactDelete"}, "wh-3"))
    assert again.result["deleted"] is False


@pytest.mark.django_db
def test_an_appointment_event_takes_the_nested_record(location, templates):
    payload = {
        "type": "AppointmentCreate",
        "locationId": "loc-1",
        "appointment": {
            "id": "a-1",
            "title": "Cleaning",
            "calendarId": "cal-1",
            "contactId": "c-1",
            "appointmentStatus": "Confirmed",
            "startTime": "2026-12-01T10:00:00+00:00",
            "endTime": "2026-12-01T10:30:00+00:00",
        },
    }
    process(event_make(location, payload))
    row = Appointment.objects.get(ghl_id="a-1")
    assert (row.status, row.calendar_ghl_id, row.starts_at.minute) == ("confirmed", "cal-1", 0)
    process(event_make(location, {**payload, "type": "AppointmentDelete"}, "wh-2"))
    assert Appointment.objects.get(ghl_id="a-1").deleted_at is not None


@pytest.mark.django_db
def test_a_location_without_a_mapping_for_the_entity_skips_the_event(location):
    job = process(event_make(location, CONTACT))
    assert "no HighLevel → Rankr mapping for contacts" in job.result["skipped"]
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_a_record_the_mapping_cannot_apply_is_quarantined_naming_the_rule(location, templates):
    from mappings.models import QuarantinedRecord

    webhook_event_enqueue(event_make(location, {**CONTACT, "phone": "not a phone"}))
    job = Job.objects.get(kind="webhook")
    assert job_run(job_id=job.pk) == Job.Status.SUCCEEDED
    job.refresh_from_db()
    assert job.result["quarantined"] == 1
    aside = QuarantinedRecord.objects.get()
    assert (aside.rule_number, aside.field, aside.source, aside.job_id) == (
        4,
        "phone",
        "webhook",
        job.pk,
    )
    assert "Rule 4" in aside.reason and aside.event_time
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_an_event_for_an_unknown_location_waits_with_a_reason(location, templates):
    event = WebhookEvent.objects.create(
        webhook_id="wh-x",
        event_type="ContactCreate",
        highlevel_location_id="loc-nowhere",
        payload=CONTACT,
    )
    webhook_services.webhook_event_process(event_id=event.pk)
    event.refresh_from_db()
    assert event.status == "waiting" and "loc-nowhere" in event.reason
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_lead_rankr_created_is_recognised_by_email_when_highlevel_reports_it(location, templates):
    lead = Contact.objects.create(location=location, email="ada@example.com", first_name="Ada")
    process(event_make(location, CONTACT))
    lead.refresh_from_db()
    assert lead.ghl_id == "c-1" and Contact.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_signed_delivery_is_processed_through_the_worker_into_rankr(
    client, signing_key, location, templates, q_sync
):
    raw = json.dumps(
        {**CONTACT, "timestamp": timezone.now().isoformat(), "webhookId": "wh-9"}
    ).encode()
    signature = base64.b64encode(signing_key.sign(raw)).decode()
    response = client.post(
        "/integrations/webhooks/highlevel/",
        raw,
        content_type="application/json",
        HTTP_X_GHL_SIGNATURE=signature,
    )
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == "processed"
    job = Job.objects.get(idempotency_key="webhook:wh-9")
    assert job.status == "succeeded" and Contact.objects.get().ghl_id == "c-1"


def test_the_job_handler_is_the_registered_one():
    from integrations.sync.jobs import JOB_HANDLERS

    assert JOB_HANDLERS["webhook"] == f"{webhook_job_run.__module__}.{webhook_job_run.__name__}"


@pytest.mark.django_db
def test_a_run_that_lost_its_lease_writes_nothing_on_the_job(location, templates):
    from django.db.models import F

    from integrations.sync.jobs import LeaseLost, job_claim

    event = event_make(location, CONTACT)
    webhook_event_enqueue(event)
    job_id = Job.objects.get(idempotency_key=f"webhook:{event.webhook_id}").pk
    assert job_claim(job_id=job_id) is not None
    job = Job.objects.get(pk=job_id)
    Job.objects.filter(pk=job_id).update(lease_token=F("lease_token") + 1)  # a newer run took it
    with pytest.raises(LeaseLost):
        webhook_job_run(job)
    assert Job.objects.get(pk=job_id).mapping_version_id is None
    assert WebhookEvent.objects.get(pk=event.pk).status == WebhookEvent.Status.RECEIVED
