"""The control panel tells the truth, checked in Chromium at 1366 px, one test per defect found.

Screenshots land in test-artifacts/browser/<test name>/.
"""

import re
import threading
import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from integrations.models import Connection, HighLevelApp, Job, Subscription, SyncLog
from integrations.sync.subscriptions import subscription_save
from mappings.services import mapping_template_apply
from portal.models import AuditEvent
from rankr.models import Contact
from tests.admin_samples import _subscription
from tests.e2e.conftest import (  # noqa: F401 - fixture
    COMPANY_ID,
    fault_set,
    location_connect,
    sandbox_world,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
CONTACTS = 2000  # a backfill of 20 pages


def _app():
    app = HighLevelApp(name="Rankr", client_id="cid", redirect_url="http://testserver/cb/")
    app.client_secret = "secret-value"
    app.save()
    return app


def _jobs_work(subscription_id, until):
    """A worker in a thread: runs the subscription's queued jobs (a backfill and any continuation
    it hands over to) through the real job code, each page over HTTP to the sandbox."""
    from django.db import connections

    from integrations.sync.jobs import job_run

    try:
        while time.monotonic() < until:
            queued = (
                Job.objects.filter(
                    subject=f"subscription {subscription_id}", status=Job.Status.QUEUED
                )
                .order_by("pk")
                .first()
            )
            if queued is not None:
                job_run(job_id=queued.pk)
            elif Subscription.objects.filter(
                pk=subscription_id, backfill_finished_at__isnull=False
            ).exists():
                return
            else:
                time.sleep(0.2)
    finally:
        connections.close_all()


def test_staff_starts_a_backfill_and_watches_its_progress_move_on_the_location_page(
    wide,
    steps,
    sandbox_world,  # noqa: F811
    role_users,
):
    from sandbox.state.seed import sandbox_seed

    world = sandbox_world
    sandbox_seed(
        company_id=COMPANY_ID,
        location_ids=["demo-loc-0001"],
        contacts=CONTACTS,
        users=1,
        task_ratio=0,
        note_ratio=0,
        appointment_ratio=0,
    )
    connection = location_connect(world, "demo-loc-0001")
    location = world.locations["demo-loc-0001"]
    location.staff.add(role_users["staff"])
    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )
    subscription = subscription_save(
        subscription=Subscription(
            location=location, connection=connection, trigger="Search Contacts", mapping=mapping
        ),
        user_id=None,
    )
    # Every sandbox answer for this location takes a while: the backfill's pages (100 contacts
    # each) come in slower than the page refreshes itself, as on a big real location.
    fault_set(world, locationId="demo-loc-0001", latencyMs=600)

    page = wide("staffer")
    steps.shot(page, "staff dashboard")
    page.click(f"a[href='/admin/locations/{location.pk}/']")
    row = page.locator(f"#subscription-{subscription.pk}")
    expect(row.locator(".eta")).to_have_text("not started")
    steps.shot(page, "location page before the backfill")
    row.locator("button[value=backfill]").click()
    expect(page.locator(".messagelist")).to_contain_text("Backfill of Search Contacts queued")

    worker = threading.Thread(
        target=_jobs_work, args=(subscription.pk, time.monotonic() + 120), daemon=True
    )
    worker.start()
    try:
        # Read what the page shows, never the database: each value the records cell took.
        seen = []
        deadline = time.monotonic() + 100
        while time.monotonic() < deadline:
            text = row.locator(".records").inner_text().strip()
            count = int(text.split("/")[0].replace(",", "").strip())
            if not seen or count != seen[-1]:
                seen.append(count)
                if 0 < count < CONTACTS and len(seen) <= 4:
                    steps.shot(page, f"backfill shows {count} records")
            if text == f"{CONTACTS} / {CONTACTS}":
                break
            page.wait_for_timeout(250)
    finally:
        worker.join(timeout=120)
    assert seen[-1] == CONTACTS, f"the page never showed the total: {seen}"
    assert seen == sorted(seen), seen
    moving = [c for c in seen if 0 < c < CONTACTS]
    assert len(moving) >= 2, f"the page did not follow the backfill by itself: {seen}"
    # The run's end (released, outcome written) shows up too, without a reload.
    expect(row).to_contain_text("waiting", timeout=15000)
    expect(row).to_contain_text("succeeded", timeout=15000)
    steps.shot(page, "backfill done")
    assert "100%" in row.inner_text() and "done in" in row.locator(".eta").inner_text()
    assert int(row.locator(".pages").inner_text()) >= CONTACTS // 100
    assert Contact.objects.filter(location=location).count() == CONTACTS


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
