"""The sandbox and the portal wired together over a live server (for the end-to-end tests)."""

import pytest
import requests
from django.core.cache import cache

from integrations.models import Connection, HighLevelApp
from integrations.sync.webhooks_in import SANDBOX_KEYS_CACHE
from mappings.services import mapping_template_apply
from portal.models import Agency, Location
from sandbox.access.models import Installation
from sandbox.access.services.registry import (
    private_token_create,
    sandbox_app_register,
    sandbox_demo_company_ensure,
    spec_scopes_all,
)
from sandbox.access.services.webhooks import webhook_deliveries_wait
from sandbox.state.seed import sandbox_seed

LOCATION = "demo-loc-0001"
COMPANY = "demo-company-0001"
TEMPLATES = ["ghl_contact_upsert", "ghl_task_sync", "rankr_user_create", "rankr_user_delete"]


class Sandbox:
    """Speaks to the sandbox's API over HTTP as a HighLevel user would (their changes)."""

    def __init__(self, base, token):
        self.base, self.token = base, token

    def call(self, method, path, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", "Version": "2021-07-28"}
        return requests.request(method, self.base + path, headers=headers, timeout=20, **kwargs)

    def users_with_email(self, email):
        users = self.call("GET", "/users/", params={"locationId": LOCATION}).json()["users"]
        return [u for u in users if u.get("email") == email]


@pytest.fixture
def events_sandbox(live_server, settings):
    settings.SANDBOX_BASE_URL = live_server.url + "/sandbox"
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_RATE_BURST = 1_000_000
    settings.SANDBOX_RATE_DAILY = 10_000_000
    cache.delete(SANDBOX_KEYS_CACHE)  # keys are made afresh in each test's database
    company = sandbox_demo_company_ensure()
    sandbox_seed(company_id=COMPANY, location_ids=[LOCATION], contacts=12, users=1)
    scopes = list(spec_scopes_all())
    registered = sandbox_app_register(
        name="Rankr portal",
        redirect_uris=["https://portal.test/cb"],
        scopes=scopes,
        webhook_url=live_server.url + "/integrations/webhooks/highlevel/",
        client_id="rankr-e2e",
    )
    Installation.objects.create(
        app=registered.app, company=company, location=company.locations.get(location_id=LOCATION)
    )
    token = private_token_create(location_id=LOCATION, scopes=scopes).value

    agency = Agency.objects.create(name="Demo Agency", company_id=COMPANY)
    location = Location.objects.create(agency=agency, location_id=LOCATION, name="Northside Dental")
    app = HighLevelApp(
        name="Rankr sandbox",
        mode=HighLevelApp.Mode.SANDBOX,
        client_id="rankr-e2e",
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
    connection.access_token = token
    connection.save()
    for key in TEMPLATES:
        mapping_template_apply(template_key=key, location_id=location.pk, user_id=None)
    yield {
        "location": location,
        "connection": connection,
        "sandbox": Sandbox(settings.SANDBOX_BASE_URL + "/api", token),
    }
    webhook_deliveries_wait(timeout=30)
