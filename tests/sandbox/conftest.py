"""Fixtures for the sandbox API: a company with two locations, an app installed on both, tokens
with every scope the specs name, and a JSON client that sends them with HighLevel's headers."""

from dataclasses import dataclass

import pytest

API = "/sandbox/api"
LOCATION = "loc-test-0001"
OTHER_LOCATION = "loc-test-0002"
COMPANY = "company-test-0001"


def all_scopes() -> list[str]:
    from sandbox.spec.registry import registry_get

    return sorted({s for op in registry_get().operations for s in op.scopes})


@dataclass
class World:
    location_token: str
    other_location_token: str
    company_token: str


def _token(*, app, company, location_ids, user_type, secret) -> str:
    from sandbox.access.services.oauth import authorization_code_issue, token_grant

    code = authorization_code_issue(
        app=app.app,
        company=company,
        location_ids=location_ids,
        agency_chosen=user_type == "Company",
        redirect_uri="https://portal.test/cb",
        scopes=all_scopes(),
    )
    answer = token_grant(
        data={
            "client_id": app.client_id,
            "client_secret": secret,
            "grant_type": "authorization_code",
            "code": code,
            "user_type": user_type,
            "redirect_uri": "https://portal.test/cb",
        }
    )
    return answer["access_token"]


@pytest.fixture
def world(db, settings):
    from sandbox.access.services.registry import sandbox_app_register, sandbox_company_ensure

    settings.SANDBOX_RATE_BURST = 1_000_000
    settings.SANDBOX_RATE_DAILY = 10_000_000
    company = sandbox_company_ensure(
        company_id=COMPANY,
        name="Test Agency",
        locations=[
            {"location_id": LOCATION, "name": "Test One"},
            {"location_id": OTHER_LOCATION, "name": "Test Two"},
        ],
    )
    app = sandbox_app_register(
        name="Portal",
        redirect_uris=["https://portal.test/cb"],
        scopes=all_scopes(),
        client_secret="s3cret-for-tests",
    )
    kwargs = {"app": app, "company": company, "secret": "s3cret-for-tests"}
    return World(
        location_token=_token(location_ids=[LOCATION], user_type="Location", **kwargs),
        other_location_token=_token(location_ids=[OTHER_LOCATION], user_type="Location", **kwargs),
        company_token=_token(location_ids=[], user_type="Company", **kwargs),
    )


def spec_version(method, path) -> str:
    """The ``Version`` the operation's spec lists (calendars and conversations use 2021-04-15)."""
    from sandbox.spec.registry import registry_get

    op, _ = registry_get().route(method.upper(), path.split("?")[0])
    for param in op.params if op else ():
        if param.name == "Version" and param.schema.get("enum"):
            return param.schema["enum"][0]
    return "2021-07-28"


class Api:
    """The Django test client speaking JSON to the sandbox with ``Version`` and a bearer token."""

    def __init__(self, client, token):
        self.client = client
        self.token = token

    def call(self, method, path, body=None, *, version="auto", token=None, **extra):
        headers = {}
        if version == "auto":
            version = spec_version(method, path)
        if version:
            headers["HTTP_VERSION"] = version
        token = self.token if token is None else token
        if token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        headers.update(extra)
        kwargs = {}
        if body is not None:
            kwargs = {"data": body, "content_type": "application/json"}
        return getattr(self.client, method.lower())(API + path, **kwargs, **headers)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, {} if body is None else body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, {} if body is None else body, **kw)

    def delete(self, path, body=None, **kw):
        return self.call("DELETE", path, body, **kw)


@pytest.fixture
def api(client, world):
    """Calls as the location token of ``LOCATION``."""
    return Api(client, world.location_token)


@pytest.fixture
def agency_api(client, world):
    return Api(client, world.company_token)


@pytest.fixture
def emitted(monkeypatch):
    """Webhook events the sandbox hands to sandbox.access, as (event_type, payload)."""
    import sandbox.access.services.webhooks as webhooks

    events = []
    monkeypatch.setattr(
        webhooks,
        "webhook_emit",
        lambda *, event_type, payload, **where: events.append((event_type, payload)),
    )

    class Recorder:
        def types(self):
            return [e for e, _ in events]

        def of(self, event_type):
            return [p for e, p in events if e == event_type]

    return Recorder()
