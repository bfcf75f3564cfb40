"""The portal and the sandbox served over real HTTP, with the demo app registered on both sides.

``sandbox_world`` uses pytest-django's ``live_server`` (one process: portal and sandbox share
settings and the database); tests that need separate processes start ``tests.sandbox.access.
helpers.Gunicorn`` themselves.
"""

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model

from integrations.catalog.registry import registry
from integrations.models import HighLevelApp
from portal.models import Agency, Location
from tests.e2e.portal import Browser

DEMO_CLIENT_ID = "rankr-demo-client"
DEMO_CLIENT_SECRET = "rankr-demo-secret"
COMPANY_ID = "demo-company-0001"
DEMO_LOCATION_IDS = ("demo-loc-0001", "demo-loc-0002", "demo-loc-0003")
CALLBACK = "/integrations/oauth/callback/"


def spec_scopes() -> str:
    return " ".join(sorted({s for op in registry().values() for s in op.scopes}))


@dataclass
class World:
    url: str
    app: HighLevelApp
    agency: Agency
    locations: dict
    admin: object

    def browser(self) -> Browser:
        return Browser.signed_in(base=self.url, user=self.admin)


def portal_app_register(*, redirect_url: str) -> HighLevelApp:
    app = HighLevelApp(
        name="Rankr (sandbox)",
        mode=HighLevelApp.Mode.SANDBOX,
        client_id=DEMO_CLIENT_ID,
        app_id=DEMO_CLIENT_ID,
        redirect_url=redirect_url,
        scopes=spec_scopes(),
    )
    app.client_secret = DEMO_CLIENT_SECRET
    app.save()
    return app


@pytest.fixture
def sandbox_world(live_server, settings):
    """Portal + sandbox on ``live_server``: demo app on both sides, demo agency and locations."""
    from sandbox.access.services.registry import sandbox_demo_ensure
    from sandbox.state.seed import sandbox_seed

    settings.SANDBOX_BASE_URL = live_server.url + "/sandbox"
    settings.GHL_BACKOFF_BASE = 0.05  # retries stay real but quick
    settings.GHL_BACKOFF_CAP = 0.5
    sandbox_demo_ensure(redirect_uris=[live_server.url + CALLBACK])
    sandbox_seed(company_id=COMPANY_ID, location_ids=list(DEMO_LOCATION_IDS), contacts=5, users=1)
    agency = Agency.objects.create(name="Demo Agency", company_id=COMPANY_ID)
    locations = {
        loc_id: Location.objects.create(
            agency=agency, location_id=loc_id, name=f"Demo {loc_id[-1]}"
        )
        for loc_id in DEMO_LOCATION_IDS
    }
    admin = get_user_model().objects.create_superuser(
        "e2e-admin", "e2e@example.test", "x-e2e-pass-1"
    )
    return World(
        url=live_server.url,
        app=portal_app_register(redirect_url=live_server.url + CALLBACK),
        agency=agency,
        locations=locations,
        admin=admin,
    )


def location_connect(world: World, location_id: str):
    """Connect one demo location the way an admin does (Connect, consent page, callback)."""
    from integrations.models import Connection

    browser = world.browser()
    answer = browser.post_form(
        "/integrations/connect/?kind=location",
        {
            "app": world.app.pk,
            "kind": "location",
            "location": world.locations[location_id].pk,
        },
        allow_redirects=False,
    )
    callback = browser.consent(answer.headers["Location"], locations=[location_id])
    assert browser.get(callback, allow_redirects=False).status_code == 302
    return Connection.objects.get(app=world.app, location__location_id=location_id)


def fault_set(world: World, **rule):
    """POST a fault rule to the sandbox's control endpoint, as a tester would."""
    import requests

    answer = requests.post(f"{world.url}/sandbox/control/faults", json=rule, timeout=20)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()
