"""End to end against the sandbox over real HTTP: the portal and the sandbox share one live server
and meet only through HTTP, as with HighLevel. The sandbox signs and POSTs its webhooks to the
portal's webhook URL; the portal calls the sandbox's API with a private integration token.
django-q2 runs tasks inline here (``q_sync``): the path is the worker's, in the server's thread.
"""

import pytest

from integrations.catalog.paging import page_items
from integrations.catalog.services import operation_pages
from integrations.models import Job, WebhookEvent
from integrations.sync.jobs import job_rerun, job_run
from integrations.sync.outbound import event_key
from integrations.sync.rankr_events import rankr_user_create, rankr_user_delete
from mappings.models import Mapping
from mappings.services import mapping_page_apply, mapping_template_apply, mapping_version_latest
from rankr.models import Contact, RankrUser, Task
from sandbox.access.services.faults import fault_rule_set, fault_rules_clear
from sandbox.access.services.webhooks import webhook_deliveries_wait
from tests.integrations.events.sandbox_world import LOCATION

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def events_world(events_sandbox, q_sync):
    return events_sandbox


def poll_contacts(events_world):
    """One reconciliation poll of every contact, the way a polling run applies its pages."""
    location = events_world["location"]
    mapping = Mapping.objects.get(location=location, template_key="ghl_contact_upsert")
    version = mapping_version_latest(mapping_id=mapping.pk)
    for page in operation_pages(
        connection_id=events_world["connection"].pk, operation_id="GET /contacts/"
    ):
        mapping_page_apply(
            mapping_version=version, location_id=location.pk, records=page_items(page.data)
        )


def settle():
    assert webhook_deliveries_wait(timeout=60), "the sandbox's webhook deliveries did not finish"


def test_a_contact_changed_in_highlevel_arrives_by_webhook_without_duplicating_the_polled_one(
    events_world,
):
    poll_contacts(events_world)
    assert Contact.objects.count() == 12
    contact = Contact.objects.order_by("ghl_id").first()
    changed = events_world["sandbox"].call(
        "PUT",
        f"/contacts/{contact.ghl_id}",
        json={"firstName": "Renamed", "companyName": "By Webhook Ltd"},
    )
    assert changed.status_code == 200, changed.text
    settle()
    event = WebhookEvent.objects.get(event_type="ContactUpdate")
    assert event.status == "processed" and event.scheme in ("ed25519", "rsa")
    job = Job.objects.get(idempotency_key=f"webhook:{event.webhook_id}")
    assert job.status == "succeeded" and job.result["updated"] == 1, (job.error_message, job.result)
    contact.refresh_from_db()
    assert (contact.first_name, contact.company) == ("Renamed", "By Webhook Ltd")
    poll_contacts(events_world)  # polling goes on as reconciliation: still one row per contact
    assert Contact.objects.count() == 12
    assert Contact.objects.filter(ghl_id=contact.ghl_id).get().first_name == "Renamed"


def test_a_task_completed_in_highlevel_is_completed_in_rankr(events_world):
    sandbox = events_world["sandbox"]
    contact_id = sandbox.call(
        "GET", "/contacts/", params={"locationId": LOCATION, "limit": 1}
    ).json()["contacts"][0]["id"]
    created = sandbox.call(
        "POST",
        f"/contacts/{contact_id}/tasks",
        json={"title": "Call back", "dueDate": "2026-12-01T10:00:00Z", "completed": False},
    )
    assert created.status_code in (200, 201), created.text
    task_id = created.json()["task"]["id"]
    settle()
    assert Task.objects.get(ghl_id=task_id).status == "open"
    done = sandbox.call(
        "PUT", f"/contacts/{contact_id}/tasks/{task_id}/completed", json={"completed": True}
    )
    assert done.status_code == 200, done.text
    settle()
    task = Task.objects.get(ghl_id=task_id)
    assert (task.status, task.title, task.contact_ghl_id) == ("completed", "Call back", contact_id)
    assert (
        Job.objects.filter(kind="webhook", operation="TaskComplete", status="succeeded").count()
        == 1
    )


def test_a_rankr_user_created_and_deleted_appears_and_disappears_in_highlevel_once(events_world):
    sandbox = events_world["sandbox"]
    user = rankr_user_create(
        location_id=events_world["location"].pk,
        email="nurse@northside.test",
        full_name="Nora Nurse",
        role="user",
    )
    create = Job.objects.get(idempotency_key=event_key(event="user_create", record_id=user.pk))
    assert create.status == "succeeded", create.error_message
    [in_highlevel] = sandbox.users_with_email("nurse@northside.test")
    user.refresh_from_db()
    assert user.ghl_id == in_highlevel["id"] == create.result["ghl_id"]
    assert (in_highlevel["firstName"], in_highlevel["lastName"]) == ("Nora", "Nurse")
    settle()  # HighLevel's UserCreate comes back: this location maps no users in, so it is skipped
    assert RankrUser.objects.count() == 1

    rankr_user_delete(rankr_user_id=user.pk)
    delete = Job.objects.get(idempotency_key=event_key(event="user_delete", record_id=user.pk))
    assert delete.status == "succeeded" and delete.result["ghl_id"] == user.ghl_id, (
        delete.error_message
    )
    assert sandbox.users_with_email("nurse@northside.test") == []
    assert sandbox.call("GET", f"/users/{user.ghl_id}").status_code in (
        400,
        404,
    )  # "User not found"
    # Deleting again (a re-run) finds it gone and deletes nothing else.
    Job.objects.filter(pk=delete.pk).update(status="failed")
    job_rerun(job_ids=[delete.pk], user_id=None)
    job_run(job_id=delete.pk)
    delete.refresh_from_db()
    assert delete.status == "succeeded" and delete.result["already_deleted"] is True


def test_a_rerun_after_a_lost_response_creates_nothing_twice(events_world):
    sandbox = events_world["sandbox"]
    # Seed 0 with half the answers dropped: the look-up (1st request) answers, the create (2nd)
    # reaches the sandbox and its answer is cut off mid-body.
    fault_rule_set(location_id=LOCATION, values={"seed": 0, "drop_rate": 0.5})
    user = rankr_user_create(
        location_id=events_world["location"].pk,
        email="lost@northside.test",
        full_name="Lou Lost",
        role="user",
    )
    job = Job.objects.get(idempotency_key=event_key(event="user_create", record_id=user.pk))
    assert (job.status, job.error_class) == ("queued", "GhlOutcomeUnknown"), job.error_message
    fault_rules_clear(location_id=LOCATION)
    assert len(sandbox.users_with_email("lost@northside.test")) == 1  # it did reach HighLevel

    Job.objects.filter(pk=job.pk).update(status="failed")
    assert job_rerun(job_ids=[job.pk], user_id=None) == 1
    job_run(job_id=job.pk)  # the re-run (the worker may already have taken it: one claim wins)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.result["adopted"] is True
    [in_highlevel] = sandbox.users_with_email("lost@northside.test")
    user.refresh_from_db()
    assert user.ghl_id == in_highlevel["id"]


def test_a_new_rankr_lead_reaches_highlevel_once_and_its_webhook_does_not_copy_it(events_world):
    from integrations.sync.rankr_events import rankr_lead_create

    mapping_template_apply(
        template_key="rankr_lead_create", location_id=events_world["location"].pk, user_id=None
    )
    lead = rankr_lead_create(
        location_id=events_world["location"].pk,
        values={"email": "walk.in@northside.test", "first_name": "Wally", "last_name": "Walkin"},
    )
    job = Job.objects.get(idempotency_key=event_key(event="lead_create", record_id=lead.pk))
    assert job.status == "succeeded", job.error_message
    settle()  # HighLevel's ContactCreate for it comes back by webhook
    found = (
        events_world["sandbox"]
        .call(
            "GET",
            "/contacts/search/duplicate",
            params={"locationId": LOCATION, "email": "walk.in@northside.test"},
        )
        .json()
    )
    lead.refresh_from_db()
    assert lead.ghl_id == job.result["ghl_id"] == found["contact"]["id"]
    assert Contact.objects.filter(email="walk.in@northside.test").count() == 1
    came_back = WebhookEvent.objects.get(event_type="ContactCreate")
    assert came_back.payload["id"] == lead.ghl_id
    assert Job.objects.get(idempotency_key=f"webhook:{came_back.webhook_id}").status == "succeeded"
    # A re-run after the id was recorded sends nothing more and changes nothing.
    Job.objects.filter(pk=job.pk).update(status="failed")
    job_rerun(job_ids=[job.pk], user_id=None)
    job_run(job_id=job.pk)
    assert Contact.objects.filter(email="walk.in@northside.test").count() == 1
