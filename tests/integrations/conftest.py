from datetime import timedelta

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.utils import timezone

from integrations.ghl import client, ratelimit
from integrations.models import Connection, HighLevelApp

ACCESS = "at-0123456789abcdef-location-access"
REFRESH = "rt-fedcba9876543210-location-refresh"
CLIENT_SECRET = "cs-secret-client-0011223344"


@pytest.fixture
def api_base():
    """The sandbox's services host role (where HighLevel's API lives)."""
    return settings.SANDBOX_BASE_URL.rstrip("/") + "/services"


@pytest.fixture
def token_url():
    return settings.SANDBOX_BASE_URL.rstrip("/") + "/services/oauth/token"


@pytest.fixture
def sleeps(monkeypatch):
    """Record sleeps instead of sleeping; the rate limiter's clock moves on by each one."""
    import time

    recorded, offset = [], [0.0]

    def sleep(seconds):
        recorded.append(seconds)
        offset[0] += seconds

    monkeypatch.setattr(client, "_sleep", sleep)
    monkeypatch.setattr(ratelimit, "_sleep", sleep)
    monkeypatch.setattr(ratelimit, "_now", lambda: time.time() + offset[0])
    return recorded


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def ghl_app(db):
    app = HighLevelApp(
        name="Rankr",
        mode=HighLevelApp.Mode.SANDBOX,
        client_id="app123-client",
        redirect_url="http://testserver/integrations/oauth/callback/",
        scopes="contacts.readonly contacts.write locations.readonly",
    )
    app.client_secret = CLIENT_SECRET
    app.save()
    return app


def connection_make(*, app, location, access=ACCESS, refresh=REFRESH, expires_in=3600, **extra):
    connection = Connection(
        app=app,
        agency=location.agency,
        location=location,
        kind=Connection.Kind.LOCATION,
        scopes="contacts.readonly contacts.write",
        **extra,
    )
    connection.access_token = access
    connection.refresh_token = refresh
    connection.token_expires_at = timezone.now() + timedelta(seconds=expires_in)
    connection.save()
    return connection


@pytest.fixture
def connection(ghl_app, location):
    return connection_make(app=ghl_app, location=location)


@pytest.fixture
def signing_key(settings):
    key = ed25519.Ed25519PrivateKey.generate()
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings.SANDBOX_ENABLED = False
    return key


@pytest.fixture
def fake(mocked, location, settings):
    """The HighLevel fake (tests/fakeghl.py) behind ``responses``, holding the location's contacts."""
    from tests.fakeghl import FakeHighLevel

    highlevel = FakeHighLevel(access=ACCESS, refresh=REFRESH, location_id=location.location_id)
    highlevel.install(mocked, base=settings.SANDBOX_BASE_URL)
    return highlevel
