"""The official Python SDK (gohighlevel-api-client, unchanged) against a running sandbox.

The sandbox is served over real HTTP by pytest-django's ``live_server``, in lenient mode (the SDK
sends ``Version: v3`` and camelCase token fields: DEFECTS.md, "Strict and lenient"). The SDK's
own base URLs are pointed at the sandbox's host roles, as its class attributes allow:
``HighLevel.BASE_URL`` (services) and ``Oauth.MARKETPLACE_URL`` (marketplace).
"""

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

COMPANY = "demo-company-0001"
LOCATION = "demo-loc-0001"
CLIENT_ID = "6650c0ffee0a1b2c3d4e5f60-conformance"  # HighLevel's shape: <appId>-<suffix>
CLIENT_SECRET = "conformance-secret-0123456789"
REDIRECT = "https://portal.test/oauth/callback"


@dataclass
class SandboxServer:
    url: str  # .../sandbox

    @property
    def services(self) -> str:
        return self.url + "/services"

    @property
    def marketplace(self) -> str:
        return self.url + "/marketplace"


@pytest.fixture
def sandbox_server(live_server, settings, monkeypatch, transactional_db):
    from highlevel import HighLevel
    from highlevel.services.oauth.oauth import Oauth

    from sandbox.access.services.registry import (
        sandbox_app_register,
        sandbox_demo_company_ensure,
        spec_scopes_all,
    )
    from sandbox.state.seed import sandbox_seed

    settings.SANDBOX_MODE = "lenient"
    settings.SANDBOX_RATE_BURST = 100_000
    server = SandboxServer(url=live_server.url + "/sandbox")
    sandbox_demo_company_ensure()
    sandbox_app_register(
        name="Conformance",
        redirect_uris=[REDIRECT],
        scopes=list(spec_scopes_all()),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    sandbox_seed(company_id=COMPANY, location_ids=[LOCATION], contacts=25, users=2)
    monkeypatch.setattr(HighLevel, "BASE_URL", server.services)
    monkeypatch.setattr(Oauth, "MARKETPLACE_URL", server.marketplace)
    return server


def consent_code(authorization_url: str, *, agency: bool = False) -> str:
    """Approve the sandbox's consent page as an admin would; the code from the redirect."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
    form = {**query, "decision": "approve"}
    if agency:
        form["agency"] = COMPANY
    else:
        form["location"] = LOCATION
    answer = requests.post(
        authorization_url.split("?")[0], data=form, allow_redirects=False, timeout=20
    )
    assert answer.status_code == 302, answer.text[:500]
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
