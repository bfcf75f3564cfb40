"""The dashboard, a location page and a record page as each role sees them, at 1366 px.

Screenshots: test-artifacts/browser/test_each_role_sees_its_pages_<role>_/NN-*.png. Each role sees
only what it may use: the assertions name the buttons that must (not) be there.
"""

import pytest
from django.utils import timezone

from integrations.models import Job, Subscription, SyncLog
from integrations.sync.alerts import alert_raise, alerts_send
from mappings.services import mapping_page_apply, mapping_version_latest
from portal.models import AlertCause
from rankr.history import record_history_context
from rankr.models import Contact
from tests.admin_samples import _subscription

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROLES = {  # role -> (username, buttons it must see, buttons it must not see)
    "admin": ("root", ["Test connection", "Disconnect…", "Run now", "Resync from HighLevel"], []),
    "staff": (
        "staffer",
        ["Test connection", "Disconnect…", "Run now", "Resync from HighLevel"],
        [],
    ),
    "auditor": (
        "auditor",
        [],
        ["Test connection", "Disconnect…", "Run now", "Resync from HighLevel"],
    ),
    "support": (
        "supporter",
        ["Resync from HighLevel"],
        ["Test connection", "Disconnect…", "Run now"],
    ),
}


@pytest.fixture
def role_world(role_users, locations, settings):
    settings.ALERT_GROUP_SECONDS = 0
    location = locations["A"]
    subscription = _subscription(location, role_users)
    now = timezone.now()
    Subscription.objects.filter(pk=subscription.pk).update(
        backfill_started_at=now - timezone.timedelta(seconds=30),
        backfill_pages=12,
        backfill_records=1200,
        backfill_total=3000,
        last_run_at=now,
        last_run_outcome="succeeded",
        last_success_at=now,
        last_run_requests=12,
        last_run_changed=40,
    )
    version = mapping_version_latest(mapping_id=subscription.mapping_id)
    poll = Job.objects.create(
        kind="backfill",
        status="succeeded",
        location=location,
        idempotency_key="b1",
        subject=f"subscription {subscription.pk}",
        operation=subscription.operation,
    )
    for _ in range(3):
        SyncLog.objects.create(
            location=location,
            method="POST",
            path="/contacts/search",
            status=200,
            job_id=poll.pk,
            duration_ms=120,
        )
    with record_history_context(job_id=poll.pk):
        mapping_page_apply(
            mapping_version=version,
            location_id=location.pk,
            records=[
                {
                    "id": f"ct-{i}",
                    "firstName": f"Client {i}",
                    "lastName": "Doe",
                    "email": f"c{i}@example.test",
                }
                for i in range(25)
            ],
        )
    resync = Job.objects.create(
        kind="resync",
        status="succeeded",
        location=location,
        idempotency_key="r1",
        subject="ct-1",
        operation="GET /contacts/{contactId}",
    )
    SyncLog.objects.create(
        location=location,
        method="GET",
        path="/contacts/ct-1",
        status=200,
        job_id=resync.pk,
        trace_id="trace-ct-1",
    )
    with record_history_context(job_id=resync.pk):
        mapping_page_apply(
            mapping_version=version,
            location_id=location.pk,
            records=[
                {
                    "id": "ct-1",
                    "firstName": "Clara",
                    "lastName": "Doe",
                    "email": "clara@example.test",
                }
            ],
        )
    Job.objects.create(
        kind="poll",
        status="dead",
        location=location,
        idempotency_key="d1",
        error_class="GhlServerError",
        error_message="HTTP 503 from HighLevel (5 attempts)",
    )
    alert_raise(
        cause=AlertCause.JOB_DEAD, location_id=location.pk, detail={"message": "poll job died"}
    )
    alerts_send()
    return {"location": location, "contact": Contact.objects.get(location=location, ghl_id="ct-1")}


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_sees_its_pages(wide, steps, role_world, role):
    username, present, absent = ROLES[role]
    page = wide(username)
    steps.shot(page, f"{role} dashboard")
    assert page.locator("#location-health").count() == 1
    page.goto(f"/admin/locations/{role_world['location'].pk}/")
    page.wait_for_selector("#subscriptions")
    steps.shot(page, f"{role} location page")
    page.goto(f"/admin/rankr/contact/{role_world['contact'].pk}/change/")
    page.wait_for_selector("#sync-history")
    steps.shot(page, f"{role} record page")
    html = page.content()
    page.goto(f"/admin/locations/{role_world['location'].pk}/")
    html += page.content()
    for text in present:
        assert text in html, f"{role} should see {text}"
    for text in absent:
        assert text not in html, f"{role} should not see {text}"
