"""The control panel tells the truth, checked in Chromium at 1366 px, one test per defect found.

Screenshots land in test-artifacts/browser/<test name>/.
"""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from integrations.models import Connection, HighLevelApp, Job, Subscription, SyncLog
from portal.models import AuditEvent
from tests.admin_samples import _subscription
from tests.e2e.conftest import location_connect, sandbox_world  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _app():
    app = HighLevelApp(name="Rankr", client_id="cid", redirect_url="http://testserver/cb/")
    app.client_secret = "secret-value"
    app.save()
    return app


def test_staff_opens_a_location_page_and_sees_backfill_progress_move(
    wide, steps, role_users, locations
):
    location = locations["A"]
    subscription = _subscription(location, role_users)
    Subscription.objects.filter(pk=subscription.pk).update(
        backfill_started_at=timezone.now() - timezone.timedelta(seconds=20),
        backfill_pages=2,
        backfill_records=200,
        backfill_total=1000,
    )
    page = wide("staffer")
    steps.shot(page, "staff dashboard")
    page.click(f"a[href='/admin/locations/{location.pk}/']")
    page.wait_for_selector(f"#subscription-{subscription.pk}")
    row = page.locator(f"#subscription-{subscription.pk}")
    assert "200 / 1000" in row.inner_text() and "20%" in row.inner_text()
    steps.shot(page, "location page backfill at 20 percent")

    # The worker goes on paging (as subscription runs record it): the page follows by itself.
    Subscription.objects.filter(pk=subscription.pk).update(backfill_pages=7, backfill_records=700)
    # (Playwright's own polling: the portal's CSP forbids evaluating strings in the page.)
    expect(page.locator(f"#subscription-{subscription.pk} .records")).to_contain_text("700 / 1000")
    assert "70%" in page.locator(f"#subscription-{subscription.pk}").inner_text()
    assert page.locator(f"#subscription-{subscription.pk} .pages").inner_text() == "7"
    steps.shot(page, "location page backfill at 70 percent")


def test_the_dashboard_flags_a_never_connected_location(wide, steps, role_users, locations):
    app = _app()
    healthy = Connection(app=app, agency=locations["B"].agency, location=locations["B"])
    healthy.access_token = "token-value"
    healthy.save()
    synced = _subscription(locations["B"], role_users)
    Subscription.objects.filter(pk=synced.pk).update(last_success_at=timezone.now())
    page = wide("staffer")
    steps.shot(page, "dashboard flags the location never connected")
    first = page.locator("#location-health tbody tr").first
    assert "Location A" in first.inner_text() and "not connected" in first.inner_text()
    assert "failing" in first.get_attribute("class")
    assert "1 needs attention" in page.inner_text(".portal-dashboard h2")
    last = page.locator("#location-health tbody tr").last
    assert "Location B" in last.inner_text() and "healthy" in last.get_attribute("class")


def test_a_reload_of_a_run_result_sends_nothing(wide, steps, sandbox_world, role_users):  # noqa: F811
    from django.contrib.auth.models import Group

    world = sandbox_world
    connection = location_connect(world, "demo-loc-0001")
    staff = role_users["staff"]
    world.locations["demo-loc-0001"].staff.add(staff)
    assert staff.groups.filter(name=Group.objects.get(name="Agency staff").name).exists()
    page = wide("staffer")
    page.goto("/admin/catalog/operations/run/?op=GET+/contacts/")
    page.select_option("select[name=connection]", str(connection.pk))
    page.uncheck("input[name=dry_run]")
    steps.shot(page, "run form")
    page.click("#run-form input[type=submit]")
    page.wait_for_selector("#run-result")
    assert "Sent: status 200" in page.inner_text("#run-result")
    steps.shot(page, "run result")
    sent = SyncLog.objects.filter(connection=connection).count()
    jobs = Job.objects.filter(kind="action").count()
    assert jobs == 1

    page.reload()
    page.wait_for_selector("#run-result")
    steps.shot(page, "run result reloaded")
    assert "Sent: status 200" in page.inner_text("#run-result")
    assert SyncLog.objects.filter(connection=connection).count() == sent
    assert Job.objects.filter(kind="action").count() == 1
    assert AuditEvent.objects.filter(action="catalog.run").count() == 1


def test_the_auditor_never_sees_a_form_they_cannot_submit_and_gets_the_reason(
    wide, steps, role_users, locations
):
    app = _app()
    connection = Connection(app=app, agency=locations["A"].agency, location=locations["A"])
    connection.access_token = "token-value"
    connection.save()
    page = wide("auditor")
    page.goto("/admin/catalog/operations/run/?op=GET+/contacts/")
    steps.shot(page, "auditor run page")
    assert page.locator("input[name=dry_run]").count() == 0
    assert page.locator("#run-form input[type=submit]").get_attribute("value") == "Dry run"
    assert "Dry run only" in page.inner_text("#run-form")

    page.goto("/admin/integrations/connection/")
    steps.shot(page, "auditor connections")
    assert page.locator("text=Connect location").count() == 0
    assert page.locator("select[name=action]").count() == 0 or "disconnect" not in page.inner_html(
        "select[name=action]"
    )

    page.goto(f"/admin/locations/{locations['A'].pk}/")
    steps.shot(page, "auditor location page")
    assert page.locator("button", has_text="Test connection").count() == 0
    assert page.locator("button", has_text="Disconnect").count() == 0

    response = page.goto("/integrations/connect/?kind=location")
    assert response.status == 403
    steps.shot(page, "auditor tries the connect URL")
    assert "Connecting needs permission to add connections" in page.inner_text("#refusal-reason")
    assert page.locator("#site-name").count() == 1  # the portal's own page, not a bare 403

    response = page.goto("/admin/integrations/connection/add/")
    assert response.status == 403
    steps.shot(page, "auditor tries the add connection URL")
    assert "your role: Auditor" in page.inner_text("#refusal-reason")


def test_connect_all_keeps_staffs_connection_unless_told_otherwise(wide, steps, sandbox_world):  # noqa: F811
    world = sandbox_world
    staffs = location_connect(world, "demo-loc-0001")  # staff's own OAuth connection
    staffs_token = staffs.access_token
    page = wide(world.admin.username, "x-e2e-pass-1")
    page.goto("/integrations/connect/?kind=agency")
    page.select_option("select[name=app]", str(world.app.pk))
    page.select_option("select[name=agency]", str(world.agency.pk))
    page.click("input[type=submit]")
    page.wait_for_selector("button[value=approve]")  # the sandbox's consent page
    page.check(f"input[name=agency][value={world.agency.company_id}]")
    page.click("button[value=approve]")
    page.wait_for_url(re.compile(r".*/integrations/agency/\d+/locations/"))
    steps.shot(page, "agency locations listed apart")
    assert "demo-loc-0001" in page.inner_text("#connected-locations")
    assert "demo-loc-0001" not in page.inner_text("#new-locations")

    from django_q.conf import Conf

    previous, Conf.SYNC = Conf.SYNC, True  # the worker's part runs inline
    try:
        page.click("input[name=all]")
        page.wait_for_url(re.compile(r".*/integrations/batches/\d+/"))
    finally:
        Conf.SYNC = previous
    steps.shot(page, "connect all done")
    staffs.refresh_from_db()
    assert staffs.auth_type == Connection.AuthType.OAUTH and staffs.access_token == staffs_token
    minted = Connection.objects.filter(auth_type=Connection.AuthType.AGENCY_MINTED)
    assert set(minted.values_list("location__location_id", flat=True)) == {
        "demo-loc-0002",
        "demo-loc-0003",
    }

    # Told otherwise: Replace ticked.
    page.goto(re.sub(r"/batches/\d+/", "", page.url) or "/")
    agency_connection = Connection.objects.get(kind="agency")
    page.goto(f"/integrations/agency/{agency_connection.pk}/locations/")
    page.check("input[name=replace][value=demo-loc-0001]")
    steps.shot(page, "replace ticked")
    Conf.SYNC = True
    try:
        page.click("input[name=selected]")
        page.wait_for_url(re.compile(r".*/integrations/batches/\d+/"))
    finally:
        Conf.SYNC = previous
    staffs.refresh_from_db()
    assert staffs.auth_type == Connection.AuthType.AGENCY_MINTED
