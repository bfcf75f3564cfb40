"""A Rankr record's page: Resync for who may, and its sync history (what changed, job, mapping)."""

import pytest

from integrations.models import Job, SyncLog
from mappings.services import mapping_page_apply, mapping_template_apply, mapping_version_latest
from rankr.history import record_history_context
from rankr.models import Contact, RecordChange
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced_contact(locations, role_users):
    location = locations["A"]
    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert",
        location_id=location.pk,
        user_id=role_users["superuser"].pk,
    )
    version = mapping_version_latest(mapping_id=mapping.pk)
    first = Job.objects.create(
        kind="poll",
        status="succeeded",
        location=location,
        idempotency_key="p1",
        subject="subscription 1",
    )
    with record_history_context(job_id=first.pk):
        mapping_page_apply(
            mapping_version=version,
            location_id=location.pk,
            records=[
                {
                    "id": "ct-1",
                    "firstName": "Ada",
                    "lastName": "Lovelace",
                    "email": "ada@example.test",
                }
            ],
        )
    second = Job.objects.create(
        kind="resync",
        status="succeeded",
        location=location,
        idempotency_key="r1",
        subject="ct-1",
        operation="GET /contacts/{contactId}",
    )
    SyncLog.objects.create(
        location=location, method="GET", path="/contacts/ct-1", status=200, job_id=second.pk
    )
    with record_history_context(job_id=second.pk):
        mapping_page_apply(
            mapping_version=version,
            location_id=location.pk,
            records=[
                {
                    "id": "ct-1",
                    "firstName": "Augusta",
                    "lastName": "Lovelace",
                    "email": "ada@example.test",
                }
            ],
        )
    return Contact.objects.get(ghl_id="ct-1"), version, first, second


def test_each_write_is_recorded_with_its_job_mapping_version_and_what_changed(synced_contact):
    _contact, version, first, second = synced_contact
    created, updated = RecordChange.objects.filter(ghl_id="ct-1").order_by("at", "id")
    assert (created.action, created.job_id, created.mapping_version_id) == (
        "created",
        first.pk,
        version.pk,
    )
    assert created.changes["first_name"] == [None, "Ada"]
    assert (updated.action, updated.job_id) == ("updated", second.pk)
    assert updated.changes == {"first_name": ["Ada", "Augusta"]}  # only what changed


def test_an_unchanged_record_writes_no_history(synced_contact, locations):
    _contact, version, *_ = synced_contact
    mapping_page_apply(
        mapping_version=version,
        location_id=locations["A"].pk,
        records=[
            {
                "id": "ct-1",
                "firstName": "Augusta",
                "lastName": "Lovelace",
                "email": "ada@example.test",
            }
        ],
    )
    assert RecordChange.objects.filter(ghl_id="ct-1").count() == 2


def _page(client, username, contact):
    client.login(username=username, password=PASSWORD)
    return client.get(f"/admin/rankr/contact/{contact.pk}/change/").content.decode()


def test_the_record_page_shows_its_history_and_resync_for_staff(client, synced_contact):
    contact, version, first, second = synced_contact
    html = _page(client, "staffer", contact)
    assert "Resync from HighLevel" in html
    assert "<del>Ada</del> → Augusta" in html
    assert f"#{first.pk}" in html and f"#{second.pk}" in html and f"v{version.number}" in html
    assert "HighLevel calls about it" not in html  # staff may not see the sync log: no link to it


def test_support_sees_the_calls_and_the_auditor_no_resync(client, synced_contact):
    contact, *_ = synced_contact
    assert "/contacts/ct-1" in _page(client, "supporter", contact)
    client.logout()
    html = _page(client, "auditor", contact)
    assert "Resync from HighLevel" not in html and "Sync history" in html


def test_resync_posts_then_redirects_and_queues_one_job(client, synced_contact):
    contact, *_ = synced_contact
    client.login(username="staffer", password=PASSWORD)
    response = client.post(f"/admin/rankr/contact/{contact.pk}/resync/")
    assert (
        response.status_code == 302
        and response["Location"] == f"/admin/rankr/contact/{contact.pk}/change/"
    )
    job = Job.objects.filter(kind="resync").latest("pk")
    assert job.subject == "ct-1" and job.params["entity"] == "contact" and job.status == "queued"


def test_the_auditor_is_refused_resync_with_the_reason(client, synced_contact):
    contact, *_ = synced_contact
    client.login(username="auditor", password=PASSWORD)
    response = client.post(f"/admin/rankr/contact/{contact.pk}/resync/")
    assert (
        response.status_code == 403
        and "Resyncing needs the resync permission" in response.content.decode()
    )


def test_staff_cannot_resync_a_record_of_another_location(client, role_users, locations):
    other = Contact.objects.create(location=locations["C"], ghl_id="ct-9")
    client.login(username="staffer", password=PASSWORD)
    assert client.post(f"/admin/rankr/contact/{other.pk}/resync/").status_code == 404
