"""The budget plan: each subscription's requests per day against HighLevel's limits; a set that
would pass the allowed share is refused (or, grown past it, paused) naming the cause."""

import pytest

from integrations.models import Subscription
from integrations.sync.subscriptions import subscription_save, subscriptions_pause
from integrations.sync.subscriptions.budget import (
    BudgetExceeded,
    budgets_enforce,
    company_budget,
    location_budget,
)
from mappings.services import mapping_template_apply
from rankr.models import Contact
from tests.integrations.conftest import connection_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_day(settings):
    """A tenth of HighLevel's daily budget, so a tenth of the records make the same shares."""
    settings.GHL_RATE_LIMIT_DAILY = 20_000


def contacts_add(location, count):
    Contact.objects.bulk_create(
        (Contact(location=location, ghl_id=f"c-{n}") for n in range(count)), batch_size=5000
    )


def test_a_location_sized_subscription_costs_its_pages_per_run_times_runs_per_day(
    location, make_subscription
):
    contacts_add(location, 1_000)
    make_subscription(interval_minutes=15)
    plan = location_budget(location_id=location.pk)
    # Re-listing 1,000 contacts is 10 pages a run, 96 runs a day.
    assert plan.per_day == pytest.approx(10 * 96)
    assert plan.limit_per_day == 200_000 and plan.share == pytest.approx(960 / 200_000)
    assert not plan.over


def test_a_subscription_that_would_pass_half_the_location_budget_is_refused_naming_the_cause(
    location, make_subscription, small_day
):
    contacts_add(location, 1_000)
    make_subscription(interval_minutes=2)
    with pytest.raises(BudgetExceeded) as refused:
        make_subscription(interval_minutes=3)
    message = refused.value.messages[0]
    assert "location budget of Northside Dental" in message
    assert "12,000 of HighLevel's 20,000 requests a day (60%)" in message
    assert "over the 50% allowed" in message
    assert "“Search Contacts” every 2 min ≈ 7,200/day" in message
    assert "“Search Contacts” every 3 min ≈ 4,800/day" in message
    assert refused.value.permanent is True
    assert Subscription.objects.count() == 1


def test_the_allowed_share_is_a_setting(location, make_subscription, settings, small_day):
    contacts_add(location, 1_000)
    settings.BUDGET_MAX_SHARE = 0.1
    make_subscription(interval_minutes=15)  # 960 a day: under 2,000
    with pytest.raises(BudgetExceeded, match="over the 10% allowed"):
        make_subscription(interval_minutes=5)


def test_resuming_a_subscription_that_would_pass_the_budget_is_refused_and_says_why(
    location, make_subscription, small_day
):
    contacts_add(location, 1_000)
    first = make_subscription(interval_minutes=2)
    second = make_subscription(interval_minutes=3, paused=True)
    assert subscriptions_pause(subscription_ids=[second.pk], user_id=None, paused=False) == 0
    second.refresh_from_db()
    assert second.paused and "Refused: the location budget" in second.last_run_error
    subscriptions_pause(subscription_ids=[first.pk], user_id=None, paused=True)
    assert subscriptions_pause(subscription_ids=[second.pk], user_id=None, paused=False) == 1


def test_a_set_the_location_outgrew_is_paused_biggest_first(location, make_subscription, small_day):
    small = make_subscription(interval_minutes=15)
    big = make_subscription(interval_minutes=1)
    contacts_add(location, 1_000)  # the location grew after they were saved
    assert budgets_enforce() == 1
    big.refresh_from_db()
    small.refresh_from_db()
    assert big.paused and big.last_run_error.startswith("Paused: the location budget")
    assert not small.paused


def test_the_company_budget_is_shared_by_the_agency_s_locations(
    ghl_app, location, other_location, settings
):
    settings.BUDGET_MAX_SHARE = 0.002  # 400 requests a day
    made = []
    for place in (location, other_location):
        connection = connection_make(app=ghl_app, location=place)
        mapping = mapping_template_apply(
            template_key="ghl_users", location_id=place.pk, user_id=None
        )[0]
        made.append(
            Subscription(
                location=place,
                connection=connection,
                trigger="Search Users",
                plan="user",
                mapping=mapping,
                interval_minutes=5,
            )
        )
    subscription_save(subscription=made[0], user_id=None)
    assert location_budget(location_id=location.pk).per_day == 0  # users spend the company's
    assert company_budget(agency_id=location.agency_id).per_day == pytest.approx(288)
    with pytest.raises(BudgetExceeded, match="company budget of Acme Agency"):
        subscription_save(subscription=made[1], user_id=None)


def test_the_subscription_admin_refuses_past_the_budget_and_shows_the_plan(
    client, role_users, locations, ghl_app, small_day
):
    from django.urls import reverse

    place = locations["A"]
    connection = connection_make(app=ghl_app, location=place)
    mapping = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=place.pk, user_id=None
    )[0]
    contacts_add(place, 1_000)
    first = subscription_save(
        subscription=Subscription(
            location=place,
            connection=connection,
            trigger="Search Contacts",
            mapping=mapping,
            interval_minutes=2,
        ),
        user_id=None,
    )
    client.force_login(role_users["superuser"])
    answer = client.post(
        reverse("admin:integrations_subscription_add"),
        {
            "location": place.pk,
            "connection": connection.pk,
            "trigger": "Search Contacts",
            "parameters": "{}",
            "interval_minutes": 3,
            "mapping": mapping.pk,
            "enabled": "on",
            "reconcile_deletions": "on",
        },
    )
    assert answer.status_code == 200  # the form again, with why
    assert "Refused: the location budget of Location A" in answer.content.decode()
    assert Subscription.objects.count() == 1
    page = client.get(reverse("admin:integrations_subscription_change", args=[first.pk]))
    assert "≈ 7,200 (10.0 a run)" in page.content.decode()
