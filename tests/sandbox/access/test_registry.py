import pytest
from django.test import override_settings

from sandbox.access.models import MarketplaceApp, SandboxLocation
from sandbox.access.services.registry import (
    DEMO_APP,
    DemoRefused,
    sandbox_app_register,
    sandbox_demo_ensure,
)
from sandbox.access.services.secrets import secret_hash


def test_the_demo_agency_and_app_are_created_once(db):
    first = sandbox_demo_ensure(redirect_uris=["http://127.0.0.1:8000/connect/callback"])
    again = sandbox_demo_ensure(redirect_uris=["http://127.0.0.1:8000/connect/callback"])
    assert first.client_id == again.client_id == DEMO_APP["client_id"]
    assert first.client_secret == DEMO_APP["client_secret"]
    assert MarketplaceApp.objects.count() == 1
    assert list(SandboxLocation.objects.values_list("location_id", flat=True)) == [
        "demo-loc-0001",
        "demo-loc-0002",
        "demo-loc-0003",
    ]
    assert {"contacts.readonly", "contacts.write", "oauth.write"} <= first.app.scope_set


@override_settings(PORTAL_ENV="production")
def test_the_demo_app_is_refused_in_production(db):
    with pytest.raises(DemoRefused):
        sandbox_demo_ensure(redirect_uris=[])


def test_a_registered_app_keeps_only_the_secrets_hash(db):
    registered = sandbox_app_register(name="x", redirect_uris=[], scopes="a b a")
    assert registered.client_secret and registered.client_id.startswith("sbx-app-")
    assert registered.app.client_secret_hash == secret_hash(value=registered.client_secret)
    assert registered.app.scopes == "a b"
