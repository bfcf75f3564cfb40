"""The whole story in a real browser, one screenshot per step (test-artifacts/browser/...).

Staff signs in with TOTP, connects a location through the sandbox's consent page, tests the
connection and applies the contact flow template. The portal and the sandbox are served by one live
server over real HTTP; they meet only there, as with the real HighLevel.
"""

import re

import pyotp
import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from integrations.models import Connection, HighLevelApp
from mappings.models import Mapping
from portal.models import Agency, Location
from sandbox.access.services.registry import sandbox_demo_ensure
from sandbox.state.seed import sandbox_seed
from tests.conftest import _roles_present

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "story-password-42"


@pytest.fixture
def world(live_server, settings):
    settings.SANDBOX_BASE_URL = live_server.url + "/sandbox"
    callback = live_server.url + "/integrations/oauth/callback/"
    sandbox_demo_ensure(
        redirect_uris=[callback], webhook_url=live_server.url + "/integrations/webhooks/highlevel/"
    )
    sandbox_seed(company_id="demo-company-0001", location_ids=["demo-loc-0001"], contacts=30)
    _roles_present()
    agency = Agency.objects.create(name="Demo Agency", company_id="demo-company-0001")
    location = Location.objects.create(agency=agency, location_id="demo-loc-0001", name="Northside Dental")
    app = HighLevelApp(
        name="Rankr sandbox", mode=HighLevelApp.Mode.SANDBOX, client_id="rankr-demo-client",
        redirect_url=callback, scopes="contacts.readonly contacts.write users.readonly locations.readonly",
    )
    app.client_secret = "rankr-demo-secret"
    app.save()
    User = get_user_model()
    staff = User.objects.create_user("staff", "staff@demo.test", PASSWORD, is_staff=True)
    staff.groups.add(Group.objects.get(name="Agency staff"))
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
        page.fill("input[name=code]", pyotp.TOTP(totp_secret).now())
        page.click("button[type=submit]")
    page.wait_for_url("**/admin/")


def run_action(page, name):
    page.select_option("select[name=action]", name)
    page.click("button[name=index]")


def test_the_whole_story(page, steps, world):
    # Staff signs in with TOTP.
    sign_in(page, "staff", world["staff_totp"])
    steps.shot(page, "staff signed in with TOTP")

    # Connects a location through the sandbox consent page.
    page.goto("/integrations/connect/?kind=location")
    page.select_option("select[name=app]", str(world["app"].pk))
    page.select_option("select[name=location]", str(world["location"].pk))
    steps.shot(page, "connect a location")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/sandbox/v2/oauth/chooselocation.*"))
    page.check("input[name=location][value=demo-loc-0001]")
    steps.shot(page, "sandbox consent page")
    page.click("button[value=approve]")
    page.wait_for_url(re.compile(r".*/admin/integrations/connection/\d+/change/.*"))
    assert "code=" not in page.url
    steps.shot(page, "connected")
    connection = Connection.objects.get(location=world["location"])
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
    page.select_option("select[name=location]", str(world["location"].pk))
    page.check("input[value=ghl_contact_upsert]")
    page.click("#content-main input[type=submit]")
    page.wait_for_selector(".messagelist")
    steps.shot(page, "contact flow applied")
    assert Mapping.objects.filter(location=world["location"], entity="contact").exists()
