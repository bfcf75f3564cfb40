"""Mappings in a real browser, as staff and as an admin (screenshots in test-artifacts/browser/).

Staff builds a contact mapping with the table editor, makes a mistake and sees it on its row,
previews unsaved rules against a contact fetched from the sandbox over HTTP, compares and
restores a version. An admin changes an agency template, rolls it out to two locations with a
preview of the changes, then to all, then rolls back.
"""

import json
import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache

from integrations.models import Connection, HighLevelApp
from mappings.inheritance import template_attach, template_save
from mappings.models import Mapping, MappingTemplate, MappingVersion
from mappings.services import mapping_page_apply, mapping_version_latest
from portal.models import Agency, AuditEvent, Location
from sandbox.access.services.registry import (
    private_token_create,
    sandbox_demo_company_ensure,
    spec_scopes_all,
)
from sandbox.state.seed import sandbox_seed
from tests.conftest import _roles_present, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PASSWORD = "mapping-password-42"
LOCATION = "demo-loc-0001"
WIDTH = 1366


@pytest.fixture
def mappings_page(browser, live_server):
    # The portal's CSP forbids eval; the test's own wait_for_function predicates need it (this
    # lifts it for the test's probes only: the page's scripts are the same either way).
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": WIDTH, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def _user(username, *, group=None, superuser=False):
    User = get_user_model()
    if superuser:
        return User.objects.create_superuser(username, f"{username}@demo.test", PASSWORD)
    user = User.objects.create_user(username, f"{username}@demo.test", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


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


@pytest.fixture
def sandbox_location(live_server, settings):
    """A location connected to the sandbox (over HTTP, private token) with seeded contacts."""
    from integrations.sync.webhooks_in import SANDBOX_KEYS_CACHE

    settings.SANDBOX_BASE_URL = live_server.url + "/sandbox"
    settings.SANDBOX_ENABLED = True
    cache.delete(SANDBOX_KEYS_CACHE)
    cache.clear()
    company = sandbox_demo_company_ensure()
    sandbox_seed(company_id=company.company_id, location_ids=[LOCATION], contacts=5, users=0)
    _roles_present()
    agency = Agency.objects.create(name="Demo Agency", company_id=company.company_id)
    location = Location.objects.create(
        agency=agency, location_id=LOCATION, name="Northside Dental", time_zone="America/New_York"
    )
    scopes = list(spec_scopes_all())
    app = HighLevelApp(
        name="Rankr sandbox",
        mode=HighLevelApp.Mode.SANDBOX,
        client_id="rankr-map",
        redirect_url=live_server.url + "/integrations/oauth/callback/",
    )
    app.client_secret = "unused-for-private-tokens"
    app.save()
    connection = Connection(
        app=app,
        agency=agency,
        location=location,
        kind=Connection.Kind.LOCATION,
        auth_type=Connection.AuthType.PRIVATE,
        scopes=" ".join(scopes),
    )
    connection.access_token = private_token_create(location_id=LOCATION, scopes=scopes).value
    connection.save()
    return location


def _row(page, number):
    return page.locator(f"#rule-{number}")


def _wait_rows(page, count):
    page.wait_for_function(
        f"document.querySelectorAll('#rules-editor tr.rule-row').length === {count}"
    )


def test_staff_builds_a_contact_mapping_with_the_table_and_previews_and_restores(
    mappings_page, steps, sandbox_location
):
    page = mappings_page
    staff = _user("staff", group="Agency staff")
    sandbox_location.staff.add(staff)
    sign_in(page, "staff")

    page.on("console", lambda m: print("CONSOLE", m.text))
    page.on("dialog", lambda d: (print("DIALOG", d.message[:3000]), d.dismiss()))
    page.goto("/admin/mappings/mapping/add/")
    page.select_option("#id_location", str(sandbox_location.pk))
    page.fill("#id_name", "Contacts into Rankr")
    page.select_option("#id_entity", "contact")
    page.select_option("#id_direction", "ghl_to_rankr")
    page.fill("#id_operation_key", "GET /contacts/{contactId}")
    page.locator("#id_operation_key").dispatch_event("change")
    page.wait_for_function(
        "document.querySelector('#rules-editor datalist option[value=firstName]') !== null"
    )

    page.click("#rules-editor button.rules-add")
    _wait_rows(page, 1)
    _row(page, 1).locator("input[name$='-source']").fill("email")
    _row(page, 1).locator("select[name$='-target']").select_option("email")
    _row(page, 1).locator("select.rule-step-add").select_option("trim")
    page.wait_for_function("document.querySelectorAll('#rule-1 .rule-step').length === 1")
    page.click("#rules-editor button.rules-add")
    _wait_rows(page, 2)
    _row(page, 2).locator("input[name$='-source']").fill("firstName")
    # The target list speaks the pages' labels.
    assert (
        "Custom field 1 (custom_1)" in _row(page, 2).locator("select[name$='-target']").inner_text()
    )
    _row(page, 2).locator("select[name$='-target']").select_option(label="First name (first_name)")
    page.click("#rules-editor button.rules-add")
    _wait_rows(page, 3)
    _row(page, 3).locator("input[name$='-source']").fill("phone")
    _row(page, 3).locator("select[name$='-target']").select_option("phone")
    _row(page, 3).locator("select.rule-step-add").select_option("phone_e164")
    page.wait_for_function("document.querySelector('#rule-3 input[name$=\"-a-country\"]') !== null")
    steps.shot(page, "staff builds rules in the table")

    # The mistake: phone_e164 without its country.
    page.click("input[name=_continue]")
    page.wait_for_selector("#rule-3.rule-invalid")
    row3 = _row(page, 3).inner_text()
    assert "missing argument 'country'" in row3
    assert "rule-invalid" not in (_row(page, 1).get_attribute("class") or "")
    assert not Mapping.objects.exists()
    _row(page, 3).scroll_into_view_if_needed()
    steps.shot(page, "the mistake shows on its row")

    _row(page, 3).locator("input[name$='-a-country']").fill("US")
    page.click("input[name=_continue]")
    page.wait_for_selector("text=was added successfully")
    mapping = Mapping.objects.get()
    assert mapping.rules == [
        {"source": "email", "target": "email", "transforms": [{"name": "trim"}]},
        {"source": "firstName", "target": "first_name", "transforms": []},
        {
            "source": "phone",
            "target": "phone",
            "transforms": [{"name": "phone_e164", "args": {"country": "US"}}],
        },
    ]

    # Unsaved change, previewed against a contact fetched from HighLevel (the sandbox).
    _row(page, 2).locator("select.rule-step-add").select_option("upper")
    page.wait_for_function("document.querySelectorAll('#rule-2 .rule-step').length === 1")
    page.click("button[data-preview-url][value=fetched]")
    page.wait_for_selector("#preview-result")
    assert page.locator("#preview-error").count() == 0, page.locator("#preview-error").inner_text()
    before = json.loads(page.locator("#preview-before").inner_text())
    after = json.loads(page.locator("#preview-after").inner_text())
    assert before["id"] and "customFields" in before  # a contact, not one of its custom fields
    assert after["first_name"] == before["firstName"].upper()
    assert page.locator("#preview-outcomes tbody tr").count() == 3
    page.locator("#mapping-preview").scroll_into_view_if_needed()
    steps.shot(page, "preview of unsaved rules against a fetched contact")
    assert mapping_version_latest(mapping_id=mapping.pk).number == 1  # nothing saved

    page.click("input[name=_continue]")
    page.wait_for_selector("text=was changed successfully")
    assert mapping_version_latest(mapping_id=mapping.pk).number == 2

    # Versions: the difference, then Restore version 1 (as version 3).
    page.goto(f"/admin/mappings/mapping/{mapping.pk}/versions/")
    assert '"name": "upper"' in "\n".join(page.locator("#version-diff .diff-add").all_inner_texts())
    steps.shot(page, "versions compared")
    page.click("button[name=restore][value='1']")
    page.wait_for_selector("text=Version 1 restored as version 3")
    steps.shot(page, "version 1 restored")
    latest = mapping_version_latest(mapping_id=mapping.pk)
    assert latest.number == 3
    assert latest.rules == MappingVersion.objects.get(mapping=mapping, number=1).rules


RULES_V1 = [
    {"source": "email", "target": "email", "transforms": [{"name": "trim"}, {"name": "lower"}]},
    {"source": "firstName", "target": "first_name", "transforms": [{"name": "trim"}]},
]


@pytest.fixture
def fleet():
    _roles_present()
    agency = Agency.objects.create(name="Demo Agency", company_id="demo-company-0009")
    locations = [
        Location.objects.create(agency=agency, location_id=f"loc-{n}", name=name)
        for n, name in enumerate(
            ["Harbour Plumbing", "Lakeside Vets", "Northside Dental", "Sunset Yoga"]
        )
    ]
    template = MappingTemplate(
        agency=agency,
        name="Agency contacts",
        entity="contact",
        direction="ghl_to_rankr",
        operation_key="GET /contacts/{contactId}",
        rules=RULES_V1,
    )
    template_save(template=template, user_id=None)
    template_attach(
        template_id=template.pk, location_ids=[loc.pk for loc in locations], user_id=None
    )
    for n, location in enumerate(locations[:2]):
        mapping = Mapping.objects.get(location=location)
        mapping_page_apply(
            mapping_version=mapping_version_latest(mapping_id=mapping.pk),
            location_id=location.pk,
            records=[
                {
                    "id": f"c-{n}",
                    "email": f" Pat{n}@Example.com ",
                    "firstName": "Pat",
                    "companyName": f"Acme {n}",
                }
            ],
        )
    return {"template": template, "locations": locations}


def test_admin_rolls_an_agency_template_out_in_stages_and_back(mappings_page, steps, fleet):
    page = mappings_page
    admin = _user("admin", superuser=True)
    secret = generate_totp_secret()
    TOTP.activate(admin, secret)
    sign_in(page, "admin", secret)
    template, locations = fleet["template"], fleet["locations"]

    page.goto(f"/admin/mappings/mappingtemplate/{template.pk}/change/")
    page.click("#rules-editor button.rules-add")
    _wait_rows(page, 3)
    _row(page, 3).locator("input[name$='-source']").fill("companyName")
    _row(page, 3).locator("select[name$='-target']").select_option("company")
    steps.shot(page, "admin adds a rule to the agency template")
    page.click("input[name=_continue]")
    page.wait_for_selector("text=Saved as template version 2")
    assert all(Mapping.objects.get(location=loc).rules == RULES_V1 for loc in locations)  # not yet

    page.goto(f"/admin/mappings/mappingtemplate/{template.pk}/rollout/")
    page.check(f"input[name=locations][value='{locations[0].pk}']")
    page.check(f"input[name=locations][value='{locations[2].pk}']")
    page.click("button[name=action][value=preview]")
    page.wait_for_selector("#rollout-preview")
    text = page.locator("#rollout-preview").inner_text()
    assert "Harbour Plumbing" in text and "Northside Dental" in text
    assert "Acme 0" in text  # re-applied to Harbour's stored contact
    assert "No stored records" in text  # Northside has none and no connection to fetch from
    steps.shot(page, "preview of what version 2 changes at the chosen locations")

    page.click("button[name=action][value=stage]")
    page.wait_for_selector("#staged-rollout")
    steps.shot(page, "version 2 staged at two locations")
    on_v2 = {loc.name for loc in locations if len(Mapping.objects.get(location=loc).rules) == 3}
    assert on_v2 == {"Harbour Plumbing", "Northside Dental"}

    page.click("#staged-rollout button[value=complete]")
    page.wait_for_selector("text=now runs at every location")
    assert all(len(Mapping.objects.get(location=loc).rules) == 3 for loc in locations)
    steps.shot(page, "version 2 everywhere")

    page.click("#rollouts button[value=rollback]")
    page.wait_for_selector("text=Rolled back")
    steps.shot(page, "rolled back everywhere")
    assert all(Mapping.objects.get(location=loc).rules == RULES_V1 for loc in locations)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "mapping_template.rollout.staged",
        "mapping_template.rollout.completed",
        "mapping_template.rollout.rolled_back",
        "mapping_template.changed",
    } <= actions
    assert re.search(r"Rolled back", page.content())
