"""The whole story in a real browser, one screenshot per step (test-artifacts/browser/...).

Staff signs in with TOTP, connects a location through the sandbox's consent page, tests the
connection and applies the contact flow template. The portal and the sandbox are served by one live
server over real HTTP; they meet only there, as with the real HighLevel.
"""

import csv
import io
import json
import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from integrations.models import Connection, HighLevelApp, Job
from mappings.models import Mapping
from portal.models import Agency, Location
from rankr.models import Contact
from sandbox.access.services.registry import sandbox_demo_ensure
from sandbox.state.seed import sandbox_seed
from tests.conftest import _roles_present, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PASSWORD = "story-password-42"


@pytest.fixture
def story_world(live_server, settings):
    settings.SANDBOX_BASE_URL = live_server.url + "/sandbox"
    callback = live_server.url + "/integrations/oauth/callback/"
    sandbox_demo_ensure(
        redirect_uris=[callback], webhook_url=live_server.url + "/integrations/webhooks/highlevel/"
    )
    sandbox_seed(company_id="demo-company-0001", location_ids=["demo-loc-0001"], contacts=30)
    _roles_present()
    agency = Agency.objects.create(name="Demo Agency", company_id="demo-company-0001")
    location = Location.objects.create(
        agency=agency, location_id="demo-loc-0001", name="Northside Dental"
    )
    app = HighLevelApp(
        name="Rankr sandbox",
        mode=HighLevelApp.Mode.SANDBOX,
        client_id="rankr-demo-client",
        redirect_url=callback,
        scopes="contacts.readonly contacts.write users.readonly locations.readonly",
    )
    app.client_secret = "rankr-demo-secret"
    app.save()
    User = get_user_model()
    staff = User.objects.create_user("staff", "staff@demo.test", PASSWORD, is_staff=True)
    staff.groups.add(Group.objects.get(name="Agency staff"))
    for role in ("Support", "Auditor"):
        user = User.objects.create_user(
            role.lower(), f"{role.lower()}@demo.test", PASSWORD, is_staff=True
        )
        user.groups.add(Group.objects.get(name=role))
        agency.members.add(user)  # support and auditors work for the agency
    location.staff.add(staff)
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    return {"location": location, "app": app, "staff_totp": secret}


def sign_in(page, username, totp_secret=None):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    if totp_secret:
        page.wait_for_url("**/2fa/authenticate/**")
        page.fill("input[name=code]", totp_code(totp_secret))
        page.click("button[type=submit]")
    page.wait_for_url("**/admin/")


def run_action(page, name):
    page.select_option("select[name=action]", name)
    page.click("button[name=index]")


def new_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


def test_the_whole_story(page, steps, story_world, browser, live_server, settings, q_sync):
    # One attempt per call and per job, so an injected fault fails the job at once for support.
    settings.GHL_MAX_ATTEMPTS = 1
    settings.JOB_MAX_ATTEMPTS = 1

    # Staff signs in with TOTP.
    sign_in(page, "staff", story_world["staff_totp"])
    steps.shot(page, "staff signed in with TOTP")

    # Connects a location through the sandbox consent page.
    page.goto("/integrations/connect/?kind=location")
    page.select_option("select[name=app]", str(story_world["app"].pk))
    page.select_option("select[name=location]", str(story_world["location"].pk))
    steps.shot(page, "connect a location")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/sandbox/marketplace/v2/oauth/chooselocation.*"))
    page.check("input[name=location][value=demo-loc-0001]")
    steps.shot(page, "sandbox consent page")
    page.click("button[value=approve]")
    page.wait_for_url(re.compile(r".*/admin/integrations/connection/\d+/change/.*"))
    assert "code=" not in page.url
    steps.shot(page, "connected")
    connection = Connection.objects.get(location=story_world["location"])
    assert connection.status == Connection.Status.ACTIVE and connection.access_token

    # Tests the connection.
    page.goto("/admin/integrations/connection/")
    page.check(f"input[name=_selected_action][value='{connection.pk}']")
    run_action(page, "test_connection")
    page.wait_for_selector(".messagelist")
    steps.shot(page, "connection tested")
    assert "ms" in page.inner_text(".messagelist")

    # Applies the contact flow template.
    page.goto("/admin/mappings/mapping/apply-template/")
    steps.shot(page, "flow templates")
    page.check(f"input[name=locations][value='{story_world['location'].pk}']")
    page.check("input[value=ghl_contact_upsert]")
    page.click("#content-main input[type=submit]")
    page.wait_for_selector(".messagelist")
    steps.shot(page, "contact flow applied")
    assert Mapping.objects.filter(location=story_world["location"], entity="contact").exists()

    # Runs the trigger and sees Rankr contacts.
    page.goto("/admin/integrations/subscription/")
    page.check("#result_list tbody input[name=_selected_action]")
    run_action(page, "run_now")
    page.wait_for_selector(".messagelist")
    steps.shot(page, "trigger ran")
    page.goto("/admin/rankr/contact/")
    steps.shot(page, "Rankr contacts")
    assert Contact.objects.filter(location=story_world["location"]).count() == 30
    assert page.locator("#result_list tbody tr").count() == 30

    # Resyncs one.
    contact = Contact.objects.filter(location=story_world["location"]).order_by("pk").first()
    page.check(f"input[name=_selected_action][value='{contact.pk}']")
    run_action(page, "resync")
    page.wait_for_selector(".messagelist")
    steps.shot(page, "contact resynced")
    resync = Job.objects.filter(kind="resync").latest("pk")
    assert resync.status == "succeeded", resync.error_message

    # A fault is injected in the sandbox: every answer for the location is a 503.
    answer = page.request.post(
        "/sandbox/control/faults",
        data=json.dumps({"locationId": "demo-loc-0001", "errorRate": 1.0, "errorStatus": 503}),
        headers={"Content-Type": "application/json"},
    )
    assert answer.ok, answer.text()
    page.goto("/admin/rankr/contact/")
    page.check(f"input[name=_selected_action][value='{contact.pk}']")
    run_action(page, "resync")
    page.wait_for_selector(".messagelist")
    failed = Job.objects.filter(kind="resync").latest("pk")
    assert failed.status in ("failed", "dead") and "503" in failed.error_message
    page.goto(f"/admin/integrations/job/{failed.pk}/change/")
    steps.shot(page, "the job failed")

    # HighLevel recovers.
    assert page.request.delete("/sandbox/control/faults").ok

    # Support signs in, sees the failure on the dashboard, and re-runs it.
    support = new_page(browser, live_server)
    sign_in(support, "support")
    row = support.locator("#location-health tbody tr").first
    assert "Northside Dental" in row.inner_text() and "failed job" in row.inner_text()
    steps.shot(support, "support sees the failure on the dashboard")
    row.locator("a").first.click()  # the location's page, which lists its failed jobs
    support.wait_for_url("**/admin/locations/**")
    assert support.locator("#failed-jobs a").count() >= 1  # the failure is listed there
    support.click("text=All jobs")
    support.wait_for_url("**/admin/integrations/job/**")
    support.check(f"input[name=_selected_action][value='{failed.pk}']")
    steps.shot(support, "support selects the failed job")
    run_action(support, "rerun")
    support.wait_for_selector(".messagelist")
    failed.refresh_from_db()
    assert failed.status == "succeeded" and failed.reruns == 1
    support.goto(f"/admin/integrations/job/{failed.pk}/change/")
    steps.shot(support, "re-run succeeded")

    # The auditor filters the log, exports it, and can change nothing.
    auditor = new_page(browser, live_server)
    sign_in(auditor, "auditor")
    auditor.goto("/admin/integrations/synclog/")
    auditor.click("#changelist-filter >> text=5xx server error")
    auditor.wait_for_url("**status**")
    steps.shot(auditor, "auditor filters the sync log to 5xx")
    text = auditor.inner_text("#result_list")
    assert "503" in text
    export = auditor.request.get(auditor.get_attribute("a.export-csv", "href"))
    assert export.ok and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text())))
    assert rows and all(row["HTTP status"] == "503" for row in rows)
    connection.refresh_from_db()
    assert connection.access_token not in export.text()
    auditor.click("#result_list tbody tr a")
    steps.shot(auditor, "a log entry, read-only")
    assert auditor.locator("input[name=_save]").count() == 0
    auditor.goto("/admin/integrations/job/")
    assert auditor.locator("option[value=rerun]").count() == 0
    auditor.goto(f"/admin/integrations/connection/{connection.pk}/change/")
    assert auditor.locator("input[name=_save]").count() == 0
    steps.shot(auditor, "auditor cannot change a connection")
