"""Plan runs against the sandbox over HTTP: incremental with overlap, fan-out, horizon, the walk.

HighLevel-side changes are written into the sandbox's store (as a HighLevel user would make
them, with no webhook), so only polling can find them.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from integrations.models import Connection, EntityCoverage, HighLevelApp, Subscription
from integrations.sync.flows import flow_apply
from integrations.sync.jobs import job_run
from integrations.sync.subscriptions import subscription_run_now
from portal.models import Agency, Location
from rankr.models import Appointment, Contact, Note, Task
from sandbox.access.services.registry import private_token_create, sandbox_company_ensure
from sandbox.models import Resource
from sandbox.state import store
from sandbox.state.seed import sandbox_seed

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
COMPANY, LOCATION = "plan-company", "plan-loc-0001"
SCOPES = [
    "contacts.readonly",
    "locations/tasks.readonly",
    "calendars.readonly",
    "calendars/events.readonly",
    "opportunities.readonly",
    "users.readonly",
]


@pytest.fixture
def world(live_server, settings):
    settings.SANDBOX_BASE_URL = live_server.url + "/sandbox"
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_RATE_BURST = 1_000_000
    settings.SANDBOX_RATE_DAILY = 10_000_000
    cache.clear()
    sandbox_company_ensure(
        company_id=COMPANY, name="Plans", locations=[{"location_id": LOCATION, "name": "Plans"}]
    )
    sandbox_seed(
        company_id=COMPANY,
        location_ids=[LOCATION],
        contacts=150,
        users=3,
        tasks=120,
        notes=60,
        appointments=30,
        calendars=2,
        opportunities=10,
    )
    agency = Agency.objects.create(name="Plans", company_id=COMPANY)
    location = Location.objects.create(
        agency=agency, location_id=LOCATION, name="Plans", time_zone="America/New_York"
    )
    app = HighLevelApp(
        name="Plans", mode=HighLevelApp.Mode.SANDBOX, client_id="plans", redirect_url="https://x/"
    )
    app.client_secret = "unused"
    app.save()
    connection = Connection(
        app=app,
        agency=agency,
        location=location,
        kind=Connection.Kind.LOCATION,
        auth_type=Connection.AuthType.PRIVATE,
        scopes=" ".join(SCOPES),
    )
    connection.access_token = private_token_create(location_id=LOCATION, scopes=SCOPES).value
    connection.save()
    return location


def start(location, template_key):
    applied = flow_apply(template_key=template_key, location_id=location.pk, user_id=None)
    subscription = applied.subscription
    run(subscription)  # the backfill: one complete walk
    assert subscription.backfill_finished_at is not None
    return subscription


def run(subscription, *, full=False):
    if full:
        Subscription.objects.filter(pk=subscription.pk).update(full_pass_requested=True)
    job = subscription_run_now(subscription_id=subscription.pk, user_id=None)
    assert job is not None
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", (job.error_class, job.error_message)
    subscription.refresh_from_db()
    return job


def live(kind):
    return list(store.resources_query(kind=kind, location_id=LOCATION).order_by("seq"))


def test_contacts_ask_since_the_mark_with_overlap(world):
    subscription = start(world, "ghl_contact_upsert")
    assert Contact.objects.filter(location=world, deleted_at__isnull=True).count() == 150
    mark = datetime.fromisoformat(subscription.watermark.replace("Z", "+00:00"))
    late, changed = live("contact")[:2]
    # Written 30 s before the mark (a clock a little behind): the overlap still asks for it.
    stamp = (mark - timedelta(seconds=30)).isoformat(timespec="milliseconds")
    late.data = {**late.data, "lastName": "Late", "dateUpdated": stamp.replace("+00:00", "Z")}
    late.save()
    store.resource_update(res=changed, changes={"lastName": "Changed"})
    job = run(subscription)
    assert job.kind == "poll"
    assert Contact.objects.get(ghl_id=late.resource_id).last_name == "Late"
    assert Contact.objects.get(ghl_id=changed.resource_id).last_name == "Changed"
    assert job.result["poll_requests"] == 1  # one page of changes, not the location
    # A deletion moves no mark: the walk finds it.
    gone = live("contact")[5]
    store.resource_delete(res=gone)
    run(subscription)
    assert Contact.objects.get(ghl_id=gone.resource_id).deleted_at is None
    job = run(subscription, full=True)
    assert job.result["walk_done"]
    assert Contact.objects.get(ghl_id=gone.resource_id).deleted_at is not None
    coverage = EntityCoverage.objects.get(location=world, entity="contact")
    assert coverage.last_full_pass_deleted == 1


def test_notes_fan_out_from_changed_contacts_and_the_walk_finds_the_rest(world):
    subscription = start(world, "ghl_contact_notes")
    contacts = live("contact")
    changed, unchanged = contacts[0], contacts[-1]  # the last contact is on the last page
    store.resource_update(res=changed, changes={"lastName": "Noted"})
    on_changed = store.resource_create(
        kind="note",
        location_id=LOCATION,
        company_id=COMPANY,
        parent_id=changed.resource_id,
        data={"body": "on a changed contact", "contactId": changed.resource_id},
    )
    on_unchanged = store.resource_create(
        kind="note",
        location_id=LOCATION,
        company_id=COMPANY,
        parent_id=unchanged.resource_id,
        data={"body": "on an unchanged contact", "contactId": unchanged.resource_id},
    )
    gone = live("note")[0]
    store.resource_delete(res=gone)
    job = run(subscription)  # a poll: the changed contact's notes, and a slice of the walk
    assert Note.objects.filter(ghl_id=on_changed.resource_id, deleted_at__isnull=True).exists()
    assert not Note.objects.filter(ghl_id=on_unchanged.resource_id).exists()
    assert not job.result["walk_done"]  # paced: a slice, not the whole location
    coverage = EntityCoverage.objects.get(location=world, entity="note")
    assert coverage.walk_started_at is not None and coverage.window_s == 24 * 3600
    before = coverage.last_full_pass_at
    run(subscription, full=True)  # the rest of the walk
    assert Note.objects.get(ghl_id=on_unchanged.resource_id).content == "on an unchanged contact"
    assert Note.objects.get(ghl_id=gone.resource_id).deleted_at is not None
    coverage.refresh_from_db()
    assert coverage.last_full_pass_at > before
    assert coverage.age_s(timezone.now()) < 120
    assert coverage.walk_started_at is None


def test_task_edits_completions_and_deletions_are_found_by_the_walk(world):
    subscription = start(world, "ghl_task_sync")
    assert Task.objects.filter(location=world, deleted_at__isnull=True).count() == 120
    edited, completed, deleted = live("task")[:3]
    store.resource_update(res=edited, changes={"title": "Edited"})
    now_completed = not completed.data["completed"]
    store.resource_update(res=completed, changes={"completed": now_completed})
    store.resource_delete(res=deleted)
    job = run(subscription, full=True)
    assert job.result["walk_done"]
    assert Task.objects.get(ghl_id=edited.resource_id).title == "Edited"
    want = "completed" if now_completed else "open"
    assert Task.objects.get(ghl_id=completed.resource_id).status == want
    assert Task.objects.get(ghl_id=deleted.resource_id).deleted_at is not None
    assert job.result["walk_requests"] == 2  # 119 tasks: two pages, no per-contact requests


def test_appointments_moved_into_the_future_are_polled_and_deletions_walked(world):
    subscription = start(world, "ghl_contact_appointments")
    assert Appointment.objects.filter(location=world, deleted_at__isnull=True).count() == 30
    moved, deleted = live("appointment")[:2]
    begin = datetime.now(UTC).replace(microsecond=0) + timedelta(days=45)
    store.resource_update(
        res=moved,
        changes={
            "startTime": begin.isoformat().replace("+00:00", "Z"),
            "endTime": (begin + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        },
    )
    store.resource_delete(res=deleted)
    job = run(subscription)
    assert job.result["poll_requests"] == 3  # the calendars, then each of the two calendars
    assert Appointment.objects.get(ghl_id=moved.resource_id).starts_at == begin
    run(subscription, full=True)
    assert Appointment.objects.get(ghl_id=deleted.resource_id).deleted_at is not None


def test_a_connection_without_the_task_scope_polls_per_contact(world):
    connection = Connection.objects.get(location=world)
    connection.scopes = "contacts.readonly"
    connection.save()
    subscription = start(world, "ghl_task_sync")
    assert subscription.trigger == "Get Contact Tasks"
    live_tasks = {t.resource_id for t in live("task")}
    held = set(
        Task.objects.filter(location=world, deleted_at__isnull=True).values_list(
            "ghl_id", flat=True
        )
    )
    assert held == live_tasks
    connection.refresh_from_db()
    assert "locations/tasks.readonly" in connection.reconsent_scopes.split()
    assert Resource.objects.filter(kind="task", location_id=LOCATION).count() == 120


def test_the_contact_plan_counts_the_location_s_contacts_once_a_run(world):
    """Its walk's records are the contacts: sizing the walk does not count them a second time
    (a count is a scan of the location's rows, every run)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    subscription = flow_apply(
        template_key="ghl_contact_upsert", location_id=world.pk, user_id=None
    ).subscription
    with CaptureQueriesContext(connection) as queries:
        run(subscription)  # the backfill: no walk measured yet, so it is estimated
    counted = [q["sql"] for q in queries if "COUNT(" in q["sql"] and '"rankr_contact"' in q["sql"]]
    assert len(counted) == 1, counted
