import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import Job, Subscription
from mappings.services import mapping_template_apply
from portal.models import AuditEvent
from tests.integrations.conftest import connection_make

CHANGELIST = reverse("admin:integrations_subscription_changelist")
ADD = reverse("admin:integrations_subscription_add")


@pytest.fixture
def setup(ghl_app, locations, role_users):
    """A connection, a contact mapping and a subscription at locations A (staff's) and C."""
    made = {}
    for key in "AC":
        location = locations[key]
        connection = connection_make(app=ghl_app, location=location)
        mapping, _ = mapping_template_apply(
            template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
        )
        subscription = Subscription.objects.create(
            location=location,
            connection=connection,
            mapping=mapping,
            trigger="Search Contacts",
            operation="POST /contacts/search",
        )
        made[key] = (connection, mapping, subscription)
    return made


def form_data(connection, mapping, **overrides):
    return {
        "location": connection.location_id,
        "connection": connection.pk,
        "trigger": "Search Contacts",
        "parameters": "{}",
        "interval_minutes": 5,
        "mapping": mapping.pk,
        "enabled": "on",
        "reconcile_deletions": "on",
        **overrides,
    }


@pytest.mark.django_db
def test_staff_see_only_their_locations_subscriptions(client, role_users, setup):
    client.force_login(role_users["staff"])
    page = client.get(CHANGELIST).content.decode()
    assert "Location A" in page and "Location C" not in page
    other = setup["C"][2]
    url = reverse("admin:integrations_subscription_change", args=[other.pk])
    assert client.get(url).status_code == 302  # Django sends a missing object back to the index


@pytest.mark.django_db
def test_staff_add_a_subscription_that_checks(client, role_users, setup):
    client.force_login(role_users["staff"])
    connection, mapping, _ = setup["A"]
    response = client.post(ADD, form_data(connection, mapping, interval_minutes=10))
    assert response.status_code == 302, response.content.decode()[:3000]
    created = Subscription.objects.order_by("-pk").first()
    assert (created.operation, created.interval_minutes) == ("POST /contacts/search", 10)
    assert AuditEvent.objects.filter(action="subscription.created").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"interval_minutes": 20}, "interval_minutes", "from 1 to 15 minutes"),
        ({"interval_minutes": 0}, "interval_minutes", "from 1 to 15 minutes"),
        ({"trigger": "Get Contacts by Business"}, "parameters", "needs the parameter 'businessId'"),
        ({"parameters": "[1]"}, "parameters", "must be a JSON object"),
    ],
)
def test_a_bad_configuration_is_refused_with_the_field_named(
    client, role_users, setup, overrides, field, message
):
    client.force_login(role_users["superuser"])
    connection, mapping, _ = setup["A"]
    response = client.post(ADD, form_data(connection, mapping, **overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert any(message in m for m in errors[field]), errors


@pytest.mark.django_db
def test_a_mapping_of_another_location_is_refused(client, role_users, setup):
    client.force_login(role_users["superuser"])
    connection, _, _ = setup["A"]
    response = client.post(ADD, form_data(connection, setup["C"][1]))
    assert "Choose a mapping of this subscription" in response.content.decode()
    assert Subscription.objects.count() == 2


@pytest.mark.django_db
def test_run_now_and_backfill_queue_a_job_each(client, role_users, setup):
    client.force_login(role_users["staff"])
    subscription = setup["A"][2]
    data = {"action": "run_now", "_selected_action": [subscription.pk]}
    client.post(CHANGELIST, data)
    subscription.refresh_from_db()
    assert subscription.claimed_job.kind == Job.Kind.BACKFILL  # never backfilled: it backfills
    # While it holds the subscription, a second request queues nothing.
    response = client.post(CHANGELIST, {**data, "action": "backfill"}, follow=True)
    assert "are running now" in response.content.decode()
    assert Job.objects.count() == 1
    Subscription.objects.filter(pk=subscription.pk).update(
        claimed_until=None, backfill_finished_at=timezone.now(), full_pass_requested=False
    )
    client.post(CHANGELIST, {**data, "action": "backfill"})
    subscription.refresh_from_db()
    assert subscription.full_pass_requested and subscription.claimed_job.kind == Job.Kind.BACKFILL
    assert AuditEvent.objects.filter(action__startswith="subscription.").count() == 3


@pytest.mark.django_db
def test_pause_and_resume_keep_the_checkpoint(client, role_users, setup):
    client.force_login(role_users["staff"])
    subscription = setup["A"][2]
    Subscription.objects.filter(pk=subscription.pk).update(cursor={"full": True, "params": {}})
    client.post(CHANGELIST, {"action": "pause", "_selected_action": [subscription.pk]})
    subscription.refresh_from_db()
    assert subscription.paused and subscription.cursor == {"full": True, "params": {}}
    client.post(CHANGELIST, {"action": "resume", "_selected_action": [subscription.pk]})
    subscription.refresh_from_db()
    assert not subscription.paused


@pytest.mark.django_db
def test_the_auditor_sees_progress_but_cannot_run(client, role_users, setup):
    subscription = setup["A"][2]
    Subscription.objects.filter(pk=subscription.pk).update(
        backfill_started_at=timezone.now() - timezone.timedelta(seconds=10),
        backfill_records=400,
        backfill_pages=4,
        backfill_total=1000,
    )
    client.force_login(role_users["auditor"])
    page = client.get(CHANGELIST).content.decode()
    assert "400 / 1,000 records · 4 pages" in page and "ETA" in page
    client.post(CHANGELIST, {"action": "run_now", "_selected_action": [subscription.pk]})
    assert not Job.objects.exists()
