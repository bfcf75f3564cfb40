"""Resync: GET the record by id through the catalog, re-apply the current mapping, as a job."""

import pytest
from django.urls import reverse
from responses import matchers

from integrations.models import Job, SyncLog
from integrations.sync.jobs import job_run
from integrations.sync.resync import resync_enqueue
from integrations.sync.targets import EventError
from rankr.models import Contact, Task
from tests.integrations.conftest import ACCESS

HEADERS = {"Authorization": f"Bearer {ACCESS}", "Version": "2021-07-28"}


def run(job):
    status = job_run(job_id=job.pk)
    job.refresh_from_db()
    assert status == job.status
    return job


@pytest.mark.django_db
def test_resync_fetches_the_contact_and_reapplies_the_mapping(
    events_connection, templates, location, mocked, api_base
):
    Contact.objects.create(location=location, ghl_id="c-1", email="old@x.io", fingerprint="stale")
    mocked.get(
        f"{api_base}/contacts/c-1",
        match=[matchers.header_matcher(HEADERS)],
        json={"contact": {"id": "c-1", "email": "New@X.io", "firstName": "Ada"}},
        headers={"x-trace-id": "tr-1"},
    )
    job = run(resync_enqueue(location_id=location.pk, entity="contact", ghl_id="c-1", user_id=None))
    assert job.status == "succeeded" and job.kind == "resync"
    assert (job.result["status"], job.result["trace_id"], job.result["updated"]) == (200, "tr-1", 1)
    assert job.connection == events_connection
    assert Contact.objects.get(ghl_id="c-1").email == "new@x.io"
    assert SyncLog.objects.get().job_id == job.pk


@pytest.mark.django_db
def test_resync_by_id_creates_a_record_rankr_did_not_have(
    events_connection, templates, location, mocked, api_base
):
    mocked.get(
        f"{api_base}/contacts/c-7/tasks/t-7",
        match=[matchers.header_matcher(HEADERS)],
        json={"task": {"id": "t-7", "title": "Send quote", "completed": True, "contactId": "c-7"}},
    )
    job = run(
        resync_enqueue(location_id=location.pk, entity="task", ghl_id="t-7", contact_ghl_id="c-7")
    )
    assert job.result["created"] == 1
    assert Task.objects.get(ghl_id="t-7").status == "completed"


@pytest.mark.django_db
def test_a_record_gone_from_highlevel_is_soft_deleted(
    events_connection, templates, location, mocked, api_base
):
    Contact.objects.create(location=location, ghl_id="c-1", email="a@x.io")
    mocked.get(f"{api_base}/contacts/c-1", status=404, json={"message": "Contact not found"})
    job = run(resync_enqueue(location_id=location.pk, entity="contact", ghl_id="c-1"))
    assert job.status == "succeeded" and job.result["not_in_highlevel"] is True
    assert Contact.objects.get(ghl_id="c-1").deleted_at is not None


@pytest.mark.django_db
def test_resync_without_a_mapping_fails_the_job_saying_what_to_set_up(
    events_connection, location, mocked, api_base
):
    mocked.get(f"{api_base}/contacts/c-1", json={"contact": {"id": "c-1"}})
    job = run(resync_enqueue(location_id=location.pk, entity="contact", ghl_id="c-1"))
    assert job.status == "failed" and "apply a flow template" in job.error_message


@pytest.mark.django_db
def test_resync_without_a_connection_fails_the_job_saying_so(location, templates):
    job = run(resync_enqueue(location_id=location.pk, entity="contact", ghl_id="c-1"))
    assert job.status == "failed" and "no active HighLevel connection" in job.error_message


@pytest.mark.django_db
@pytest.mark.parametrize(
    "entity, ghl_id, contact_id, message",
    [
        ("workflow", "w-1", "", "cannot be resynced by id"),
        ("contact", "  ", "", "A HighLevel id is required"),
        ("note", "n-1", "", "give the HighLevel contact id"),
    ],
)
def test_bad_resync_requests_are_refused_clearly(location, entity, ghl_id, contact_id, message):
    with pytest.raises(EventError, match=message):
        resync_enqueue(
            location_id=location.pk, entity=entity, ghl_id=ghl_id, contact_ghl_id=contact_id
        )
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_the_admin_action_queues_one_resync_per_contact_with_an_id(client, role_users, locations):
    a = locations["A"]
    synced = Contact.objects.create(location=a, ghl_id="c-1")
    lead = Contact.objects.create(location=a, email="lead@x.io")
    client.force_login(role_users["support"])
    response = client.post(
        reverse("admin:rankr_contact_changelist"),
        {"action": "resync", "_selected_action": [synced.pk, lead.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "Resync queued for 1 contact(s)" in text and "have no HighLevel id yet" in text
    job = Job.objects.get()
    assert (job.kind, job.subject, job.params["entity"], job.created_by) == (
        "resync",
        "c-1",
        "contact",
        role_users["support"],
    )


@pytest.mark.django_db
def test_auditors_may_not_resync(client, role_users, locations):
    contact = Contact.objects.create(location=locations["A"], ghl_id="c-1")
    client.force_login(role_users["auditor"])
    client.post(
        reverse("admin:rankr_contact_changelist"),
        {"action": "resync", "_selected_action": [contact.pk]},
    )
    assert not Job.objects.exists()
    assert client.get(reverse("admin:rankr_contact_resync_by_id")).status_code == 403


@pytest.mark.django_db
def test_the_by_id_form_queues_a_resync_for_a_location_the_user_sees(client, role_users, locations):
    client.force_login(role_users["staff"])
    url = reverse("admin:rankr_contact_resync_by_id")
    refused = client.post(
        url, {"location": locations["C"].pk, "entity": "contact", "ghl_id": "c-9"}
    )
    assert "location" in refused.context["form"].errors
    missing = client.post(url, {"location": locations["A"].pk, "entity": "task", "ghl_id": "t-9"})
    assert "contact_ghl_id" in missing.context["form"].errors
    assert not Job.objects.exists()
    response = client.post(
        url, {"location": locations["A"].pk, "entity": "contact", "ghl_id": "c-9"}
    )
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "admin:integrations_job_change", args=[job.pk]
    )
    assert (job.kind, job.location, job.subject) == ("resync", locations["A"], "c-9")


@pytest.mark.django_db
def test_a_contact_highlevel_answers_400_not_found_for_is_soft_deleted(
    events_connection, templates, location, mocked, api_base
):
    """HighLevel answers a deleted contact with 400 "Contact not found" (no 404 documented)."""
    Contact.objects.create(location=location, ghl_id="c-2", email="b@x.io")
    mocked.get(
        f"{api_base}/contacts/c-2",
        status=400,
        json={"statusCode": 400, "message": "Contact not found", "error": "Bad Request"},
    )
    job = run(resync_enqueue(location_id=location.pk, entity="contact", ghl_id="c-2"))
    assert job.status == "succeeded" and job.result["not_in_highlevel"] is True
    assert Contact.objects.get(ghl_id="c-2").deleted_at is not None


@pytest.mark.django_db
def test_another_400_keeps_the_record_and_fails_the_job(
    events_connection, templates, location, mocked, api_base
):
    Contact.objects.create(location=location, ghl_id="c-3", email="c@x.io")
    mocked.get(
        f"{api_base}/contacts/c-3",
        status=400,
        json={"statusCode": 400, "message": "locationId is invalid", "error": "Bad Request"},
    )
    job = run(resync_enqueue(location_id=location.pk, entity="contact", ghl_id="c-3"))
    assert job.status in ("failed", "dead")
    assert Contact.objects.get(ghl_id="c-3").deleted_at is None
