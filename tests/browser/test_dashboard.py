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


def test_background_processes_show_healthy_and_stale_for_every_role(
    browser, live_server, role_users, locations
):
    from datetime import timedelta

    from django.conf import settings

    from integrations.models import Heartbeat
    from integrations.sync.heartbeats import heartbeat_beat
    from integrations.sync.leases import db_now
    from tests.browser.conftest import ARTIFACTS, Steps
    from tests.conftest import PASSWORD

    heartbeat_beat(component="worker", process="worker-host:4101")
    heartbeat_beat(component="worker", process="worker-host:4102")
    heartbeat_beat(component="dispatcher", process="worker-host:4200")
    stopped = db_now() - timedelta(seconds=settings.HEARTBEAT_STALE_S + 60)
    Heartbeat.objects.filter(component="worker").update(beat_at=stopped)  # the worker stopped

    steps = Steps(ARTIFACTS / "test_background_processes_per_role")
    for username in ("root", "staffer", "auditor", "supporter"):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1366, "height": 900}
        )
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto("/accounts/login/")
        page.fill("input[name=login]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/")
        table = page.locator("#process-health")
        table.scroll_into_view_if_needed()
        steps.shot(page, f"dashboard-{username}")
        worker = page.locator('#process-health tr[data-component="worker"]')
        dispatcher = page.locator('#process-health tr[data-component="dispatcher"]')
        assert "stale" in worker.inner_text() and "failing" in worker.get_attribute("class")
        assert "2 min ago" in worker.inner_text()
        assert "healthy" in dispatcher.inner_text()
        assert ("worker-host:4101" in worker.inner_text()) is (username == "root")
        # The table fits the page's width (no horizontal scrolling at 1366 px).
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
        context.close()
