import pytest
from django.utils import timezone

from integrations.models import Connection, HighLevelApp, Job, SyncLog
from portal.models import Location

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_failing_location_stands_out_without_scrolling(
    page, steps, role_users, locations, agency
):
    app = HighLevelApp(name="Rankr", client_id="cid", redirect_url="http://testserver/cb/")
    app.client_secret = "secret-value"
    app.save()
    for i in range(12):  # many healthy locations before the failing one alphabetically
        Location.objects.create(agency=agency, location_id=f"loc-h{i}", name=f"Healthy {i:02d}")
    zed = Location.objects.create(agency=agency, location_id="loc-z", name="Zed Dentistry")
    for location in Location.objects.all():
        conn = Connection(app=app, agency=agency, location=location)
        conn.access_token = "token-value"
        conn.save()
        SyncLog.objects.create(
            location=location, method="GET", path="/contacts/", status=200, at=timezone.now()
        )
    Job.objects.create(
        kind="poll",
        status="failed",
        location=zed,
        idempotency_key="z1",
        error_class="GhlServerError",
        error_message="HTTP 503",
    )

    page.context.add_cookies([])
    page.goto("/accounts/login/")
    page.fill("input[name=login]", "supporter")
    page.fill("input[name=password]", "correct-horse-battery-9")
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")
    steps.shot(page, "dashboard")
    first_row = page.locator("#location-health tbody tr").first
    assert "Zed Dentistry" in first_row.inner_text()
    assert "failing" in first_row.get_attribute("class")
    box = first_row.bounding_box()
    assert box and box["y"] + box["height"] < page.viewport_size["height"]
