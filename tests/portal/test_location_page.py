"""The page per location: what each role sees and may do there."""

import pytest
from django.utils import timezone

from integrations.models import Job, SyncLog
from rankr.models import Contact
from tests.admin_samples import _subscription
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_location(locations, role_users):
    location = locations["A"]
    subscription = _subscription(location, role_users)
    now = timezone.now()
    subscription.backfill_started_at = now - timezone.timedelta(seconds=10)
    subscription.backfill_pages, subscription.backfill_records, subscription.backfill_total = (
        4,
        400,
        1000,
    )
    subscription.save()
    job = Job.objects.create(
        kind="backfill",
        status="failed",
        location=location,
        idempotency_key="b1",
        subject=f"subscription {subscription.pk}",
        error_class="GhlServerError",
        error_message="HTTP 503 from HighLevel",
    )
    SyncLog.objects.create(
        location=location, method="GET", path="/contacts/", status=503, job_id=job.pk
    )
    SyncLog.objects.create(
        location=location, method="GET", path="/contacts/", status=200, job_id=job.pk
    )
    Contact.objects.bulk_create(Contact(location=location, ghl_id=f"c{i}") for i in range(7))
    return location


def page_of(client, user, location):
    client.login(username=user.username, password=PASSWORD)
    return client.get(f"/admin/locations/{location.pk}/")


def test_the_page_shows_progress_budget_records_jobs_and_errors(client, role_users, busy_location):
    html = page_of(client, role_users["superuser"], busy_location).content.decode()
    assert "40%" in html and '<td class="pages">4</td>' in html and "400 / 1000" in html
    assert "records/s" in html and "100% <small>(2 calls)</small>" in html  # its share of the hour
    assert "<td>Contacts</td><td>7</td>" in html
    assert "HTTP 503 from HighLevel" in html
    assert "not verified yet" in html and "no complete reconciliation yet" in html


@pytest.mark.parametrize(
    "role,buttons,absent",
    [
        ("superuser", ["Test connection", "Disconnect…", "Run now", "Backfill", "Sync log"], []),
        (
            "staff",
            ["Test connection", "Disconnect…", "Run now", "Backfill"],
            ["Sync log", "Recent HighLevel errors"],
        ),
        ("auditor", ["Sync log"], ["Test connection", "Disconnect…", "Run now", ">Backfill<"]),
        ("support", ["Sync log"], ["Test connection", "Disconnect…", "Run now", ">Backfill<"]),
    ],
)
def test_each_role_sees_only_the_buttons_it_may_use(
    client, role_users, busy_location, role, buttons, absent
):
    html = page_of(client, role_users[role], busy_location).content.decode()
    for text in buttons:
        assert text in html, text
    for text in absent:
        assert text not in html, text


def test_staff_cannot_open_a_location_not_assigned_to_them(client, role_users, locations):
    assert page_of(client, role_users["staff"], locations["C"]).status_code == 404


def test_an_action_the_user_may_not_use_is_refused_with_the_reason(
    client, role_users, busy_location
):
    client.login(username="auditor", password=PASSWORD)
    response = client.post(f"/admin/locations/{busy_location.pk}/act/", {"do": "test"})
    assert response.status_code == 403
    assert (
        "Testing a connection needs permission to change connections." in response.content.decode()
    )


def test_the_dashboard_links_each_location_to_its_page(client, role_users, busy_location):
    client.login(username="staffer", password=PASSWORD)
    assert f'href="/admin/locations/{busy_location.pk}/"' in client.get("/admin/").content.decode()
