"""Location-wide plans: the choice per entity, scope fallback, windows, pacing, flows starting them."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from integrations.models import Connection, EntityCoverage, Subscription
from integrations.sync.flows import flow_apply
from integrations.sync.subscriptions.plan_run import horizon_window
from integrations.sync.subscriptions.plans import (
    DAY_S,
    plan_choose,
    plan_requests_estimate,
    plan_requests_per_day,
    reconcile_window_s,
    subscription_window_s,
)
from mappings.entities import FANOUT, HORIZON, INCREMENTAL, LISTING, LOCATION_PLANS
from tests.integrations.conftest import connection_make

ALL = {
    "contacts.readonly",
    "locations/tasks.readonly",
    "calendars.readonly",
    "calendars/events.readonly",
    "opportunities.readonly",
    "users.readonly",
}


@pytest.mark.parametrize(
    ("entity", "kind", "operation"),
    [
        ("contact", INCREMENTAL, "POST /contacts/search"),
        ("task", LISTING, "POST /locations/{locationId}/tasks/search"),
        ("note", FANOUT, "GET /contacts/{contactId}/notes"),
        ("appointment", HORIZON, "GET /calendars/events"),
        ("user", LISTING, "GET /users/search"),
        ("opportunity", LISTING, "GET /opportunities/search"),
    ],
)
def test_each_entity_has_the_plan_its_listing_allows(entity, kind, operation):
    choice = plan_choose(entity=entity, granted=ALL)
    assert choice is not None and not choice.fallback and choice.missing == ()
    assert (choice.plan.kind, choice.plan.operation) == (kind, operation)


def test_incremental_plans_overlap_the_mark():
    assert LOCATION_PLANS["contact"].overlap_s > 0
    assert LOCATION_PLANS["note"].overlap_s > 0  # its mark is the contacts' dateUpdated


def test_users_spend_the_company_budget():
    assert LOCATION_PLANS["user"].budget == "company"
    assert LOCATION_PLANS["contact"].budget == "location"


@pytest.mark.parametrize(
    ("entity", "missing", "fallback_operation"),
    [
        ("task", "locations/tasks.readonly", "GET /contacts/{contactId}/tasks"),
        ("appointment", "calendars/events.readonly", "GET /contacts/{contactId}/appointments"),
    ],
)
def test_a_missing_scope_falls_back_to_per_contact_polling(entity, missing, fallback_operation):
    choice = plan_choose(entity=entity, granted={"contacts.readonly"})
    assert choice.fallback
    assert missing in choice.missing
    assert (choice.plan.kind, choice.plan.operation) == (FANOUT, fallback_operation)


def test_without_a_fallback_the_missing_scope_is_named():
    choice = plan_choose(entity="opportunity", granted={"contacts.readonly"})
    assert not choice.fallback
    assert choice.missing == ("opportunities.readonly",)


def test_the_horizon_is_whole_days_in_the_location_time_zone():
    plan = LOCATION_PLANS["appointment"]
    now = datetime(2026, 3, 10, 3, 30, tzinfo=UTC)  # still 9 March in New York
    tz = ZoneInfo("America/New_York")
    lower, upper = horizon_window(plan=plan, now=now, tz=tz, since=None)
    assert lower == datetime(2026, 2, 7, tzinfo=tz)  # 30 days before 9 March, local midnight
    assert upper.date().isoformat() == "2026-06-08"  # the day after 9 March + 90 days
    assert (lower.hour, upper.hour) == (0, 0)
    # A run asks from the checkpoint's day, not the whole past.
    since = datetime(2026, 3, 9, 20, 0, tzinfo=UTC)
    lower, _ = horizon_window(plan=plan, now=now, tz=tz, since=since)
    assert lower == datetime(2026, 3, 9, tzinfo=tz)
    # In UTC the same moment is already 10 March.
    lower, _ = horizon_window(plan=plan, now=now, tz=ZoneInfo("UTC"), since=since)
    assert lower == datetime(2026, 3, 9, tzinfo=ZoneInfo("UTC"))


def test_the_walk_window_is_a_day_up_to_20000_contacts_and_longer_above():
    plan = LOCATION_PLANS["note"]
    assert reconcile_window_s(
        plan=plan, contacts=20_000, walk_requests=20_200, interval_s=300
    ) == pytest.approx(DAY_S)
    assert reconcile_window_s(
        plan=plan, contacts=40_000, walk_requests=40_400, interval_s=300
    ) == pytest.approx(2 * DAY_S)


def test_the_walk_window_never_spends_more_than_its_budget_share(settings):
    settings.GHL_RATE_LIMIT_DAILY = 200_000
    plan = LOCATION_PLANS["task"]  # 3 % of the day's budget: 6,000 requests
    window = reconcile_window_s(plan=plan, contacts=10_000, walk_requests=200, interval_s=300)
    assert window == pytest.approx(200 * DAY_S / 6_000)
    assert 200 * DAY_S / window <= 6_000
    # A cheap listing is walked every run.
    assert reconcile_window_s(plan=plan, contacts=10, walk_requests=1, interval_s=300) == 300


@pytest.fixture
def all_scopes_connection(ghl_app, location):
    connection = connection_make(app=ghl_app, location=location)
    connection.scopes = " ".join(sorted(ALL))
    connection.save()
    return connection


@pytest.mark.django_db
def test_applying_flows_starts_one_shared_subscription_per_entity(all_scopes_connection):
    location_id = all_scopes_connection.location_id
    first = flow_apply(template_key="ghl_task_sync", location_id=location_id, user_id=None)
    mirror = flow_apply(
        template_key="ghl_contact_task_mirror", location_id=location_id, user_id=None
    )
    again = flow_apply(template_key="ghl_task_sync", location_id=location_id, user_id=None)
    assert first.subscription_created and not mirror.subscription_created
    assert not again.subscription_created
    assert mirror.subscription.pk == first.subscription.pk == again.subscription.pk
    subscription = Subscription.objects.get(location_id=location_id, plan="task")
    assert subscription.trigger == "Search Location Tasks"
    for key in ("ghl_contact_upsert", "ghl_contact_notes", "ghl_contact_appointments"):
        assert flow_apply(template_key=key, location_id=location_id, user_id=None).subscription
    for key in ("ghl_users", "ghl_opportunities"):
        assert flow_apply(template_key=key, location_id=location_id, user_id=None).subscription
    plans = set(Subscription.objects.filter(location_id=location_id).values_list("plan", flat=True))
    assert plans == {"contact", "task", "note", "appointment", "user", "opportunity"}


@pytest.mark.django_db
def test_a_missing_scope_falls_back_and_flags_the_location_for_reconsent(connection):
    location_id = connection.location_id  # granted: contacts.readonly contacts.write
    applied = flow_apply(template_key="ghl_task_sync", location_id=location_id, user_id=None)
    assert applied.subscription.trigger == "Get Contact Tasks"
    assert "locations/tasks.readonly" in applied.note
    refused = flow_apply(template_key="ghl_opportunities", location_id=location_id, user_id=None)
    assert refused.subscription is None
    assert "re-consent" in refused.note and "opportunities.readonly" in refused.note
    connection.refresh_from_db()
    assert set(connection.reconsent_scopes.split()) == {
        "locations/tasks.readonly",
        "opportunities.readonly",
    }


@pytest.mark.django_db
def test_the_estimate_counts_the_poll_and_the_walk_share(all_scopes_connection):
    location_id = all_scopes_connection.location_id
    notes = flow_apply(template_key="ghl_contact_notes", location_id=location_id, user_id=None)
    subscription = notes.subscription
    EntityCoverage.objects.create(
        location_id=location_id, entity="note", last_full_pass_requests=10_100
    )
    per_run = plan_requests_estimate(subscription)
    window = subscription_window_s(subscription)
    assert window == DAY_S  # 10,100 requests a day is within the notes' 15 % share
    assert per_run == pytest.approx(1 + 10_100 * 300 / DAY_S)  # an empty location changes nothing
    assert plan_requests_per_day(subscription) == pytest.approx(per_run * DAY_S / 300)


@pytest.mark.django_db
def test_coverage_age(location):
    coverage = EntityCoverage.objects.create(location=location, entity="note")
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert coverage.age_s(now) is None
    coverage.last_full_pass_at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert coverage.age_s(now) == 12 * 3600


def test_connection_reconsent_field_exists():
    assert Connection._meta.get_field("reconsent_scopes")


@pytest.fixture
def superuser_client(client):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("root", "root@x.test", "pw")
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_reconsent_sends_many_locations_at_once(ghl_app, location, superuser_client):
    from integrations.ghl.oauth import tokens_apply
    from integrations.sync.connections import connections_reconsent
    from portal.models import Location

    agency_connection = Connection.objects.create(
        app=ghl_app, agency=location.agency, kind=Connection.Kind.AGENCY, scopes="locations.write"
    )
    minted = connection_make(app=ghl_app, location=location)
    Connection.objects.filter(pk=minted.pk).update(
        parent=agency_connection, reconsent_scopes="locations/tasks.readonly"
    )
    other = Location.objects.create(agency=location.agency, location_id="loc-9", name="Own")
    own = connection_make(app=ghl_app, location=other)
    Connection.objects.filter(pk=own.pk).update(reconsent_scopes="opportunities.readonly")
    fine = connection_make(
        app=ghl_app,
        location=Location.objects.create(agency=location.agency, location_id="l-3", name="Ok"),
    )
    report = connections_reconsent(connection_ids=[minted.pk, own.pk, fine.pk], user=None)
    assert report.agencies == {agency_connection.pk: [location.name]}
    assert report.locations == [other.pk]
    assert report.skipped == 1
    ghl_app.refresh_from_db()
    assert {"locations/tasks.readonly", "opportunities.readonly"} <= ghl_app.scope_set
    # The admin action says whom to ask.
    page = superuser_client.post(
        "/admin/integrations/connection/",
        {"action": "reconsent", "_selected_action": [minted.pk, own.pk]},
        follow=True,
    )
    text = page.content.decode()
    assert "connect the agency" in text and f"Connect location {other.pk} again" in text
    # Once the scope is granted, the flag clears.
    own.refresh_from_db()
    tokens_apply(
        connection=own,
        payload={"access_token": "a", "scope": "contacts.readonly opportunities.readonly"},
    )
    assert own.reconsent_scopes == ""


@pytest.mark.django_db
def test_the_admin_shows_coverage_age(location, superuser_client):
    EntityCoverage.objects.create(
        location=location,
        entity="note",
        last_full_pass_at=datetime.now(UTC) - timedelta(hours=3),
        window_s=DAY_S,
    )
    page = superuser_client.get("/admin/integrations/entitycoverage/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "3.0 h" in text and "24.0 h" in text


@pytest.mark.django_db
def test_a_subscription_started_before_plans_becomes_the_plan(connection):
    from mappings.services import mapping_template_apply

    location_id = connection.location_id
    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location_id, user_id=None
    )
    earlier = Subscription.objects.create(
        location_id=location_id,
        connection=connection,
        trigger="Search Contacts",
        operation="POST /contacts/search",
        mapping=mapping,
        watermark="2026-01-01T00:00:00.000Z",
    )
    applied = flow_apply(template_key="ghl_contact_upsert", location_id=location_id, user_id=None)
    assert applied.subscription.pk == earlier.pk and not applied.subscription_created
    earlier.refresh_from_db()
    assert earlier.plan == "contact" and earlier.watermark == "2026-01-01T00:00:00.000Z"
    assert Subscription.objects.filter(location_id=location_id).count() == 1


def test_a_raised_client_limiter_does_not_enlarge_highlevels_budget(settings):
    settings.GHL_RATE_LIMIT_DAILY = 100_000_000  # a bench's unlimited limiter
    plan = LOCATION_PLANS["task"]
    window = reconcile_window_s(plan=plan, contacts=10_000, walk_requests=200, interval_s=300)
    assert window == pytest.approx(200 * DAY_S / 6_000)
