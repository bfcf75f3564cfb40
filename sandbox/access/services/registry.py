"""What the sandbox knows before any OAuth: marketplace apps, companies, locations, PITs.

The seed command and tests call these; the portal's connection code only needs the client id
and secret that :func:`sandbox_app_register` returns.
"""

import functools
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sandbox.access.models import MarketplaceApp, SandboxCompany, SandboxLocation, Token
from sandbox.access.models.oauth import USER_TYPE_LOCATION
from sandbox.access.services.secrets import secret_hash, secret_new

DEMO_COMPANY = {"company_id": "demo-company-0001", "name": "Demo Agency"}
DEMO_LOCATIONS = [
    {
        "location_id": "demo-loc-0001",
        "name": "Northside Dental",
        "address": "12 North St, Boston, MA",
    },
    {
        "location_id": "demo-loc-0002",
        "name": "Harbour Plumbing",
        "address": "3 Quay Rd, Bristol, UK",
    },
    {"location_id": "demo-loc-0003", "name": "Sunset Yoga", "address": "8 Beach Pde, Sydney, NSW"},
]

# A known client for the demo only (`make demo`): the portal's demo connection uses these.
DEMO_APP = {
    "name": "Rankr (demo)",
    "client_id": "rankr-demo-client",
    "client_secret": "rankr-demo-secret",
}
SPEC_APPS = settings.BASE_DIR / "specs" / "highlevel" / "apps"


@functools.cache
def spec_scopes_all() -> tuple[str, ...]:
    """Every scope the specs' ``security`` or docs/oauth/Scopes.md names, sorted (the union)."""
    from sandbox.spec.scopes_doc import doc_scopes_all

    scopes = set(doc_scopes_all())
    for spec in SPEC_APPS.glob("*.json"):
        for methods in json.loads(spec.read_text(encoding="utf-8")).get("paths", {}).values():
            for operation in methods.values():
                for alternative in (
                    (operation.get("security") or []) if isinstance(operation, dict) else []
                ):
                    for names in alternative.values():
                        scopes.update(names)
    return tuple(sorted(scopes))


@dataclass(frozen=True)
class RegisteredApp:
    app: MarketplaceApp
    client_id: str
    client_secret: str  # shown once; only its hash is stored


@transaction.atomic
def sandbox_app_register(
    *,
    name: str,
    redirect_uris: list[str],
    scopes: list[str] | str,
    webhook_url: str = "",
    client_id: str = "",
    client_secret: str = "",
) -> RegisteredApp:
    """Register (or update, when ``client_id`` exists) a marketplace app.

    A given ``client_secret`` is kept (demo and tests want a known one); otherwise a new random
    secret is made. Returns the plain secret once.
    """
    if isinstance(scopes, str):
        scopes = scopes.split()
    client_id = client_id or secret_new(prefix="sbx-app-", nbytes=12)
    client_secret = client_secret or secret_new(prefix="", nbytes=24)
    app, _ = MarketplaceApp.objects.update_or_create(
        client_id=client_id,
        defaults={
            "name": name,
            "client_secret_hash": secret_hash(value=client_secret),
            "redirect_uris": list(redirect_uris),
            "webhook_url": webhook_url,
            "scopes": " ".join(sorted(set(scopes))),
        },
    )
    return RegisteredApp(app=app, client_id=client_id, client_secret=client_secret)


def sandbox_app_secret_rotate(*, app_id: int) -> str:
    """Give the app a new random client secret and return it (shown once; the old one stops working)."""
    secret = secret_new(prefix="", nbytes=24)
    MarketplaceApp.objects.filter(pk=app_id).update(client_secret_hash=secret_hash(value=secret))
    return secret


@transaction.atomic
def sandbox_company_ensure(
    *, company_id: str, name: str, locations: list[dict] = ()
) -> SandboxCompany:
    """Create or update a company and its locations (dicts: location_id, name, address)."""
    company, _ = SandboxCompany.objects.update_or_create(
        company_id=company_id, defaults={"name": name}
    )
    for loc in locations:
        SandboxLocation.objects.update_or_create(
            location_id=loc["location_id"],
            defaults={"company": company, "name": loc["name"], "address": loc.get("address", "")},
        )
    return company


def sandbox_demo_company_ensure() -> SandboxCompany:
    """The demo agency `demo-company-0001` with `demo-loc-0001..0003` (as the portal's demo)."""
    return sandbox_company_ensure(**DEMO_COMPANY, locations=DEMO_LOCATIONS)


class DemoRefused(Exception):
    pass


def sandbox_demo_ensure(*, redirect_uris: list[str], webhook_url: str = "") -> RegisteredApp:
    """The demo agency with its three locations, and the demo app holding every spec scope.

    Idempotent; the app's credentials are ``DEMO_APP`` (never in production).
    """
    if settings.PORTAL_ENV == "production" or not settings.DEMO_ALLOWED:
        raise DemoRefused(
            "The sandbox demo app is never registered in production: it needs DEBUG on."
        )
    sandbox_demo_company_ensure()
    return sandbox_app_register(
        **DEMO_APP,
        redirect_uris=redirect_uris,
        webhook_url=webhook_url,
        scopes=list(spec_scopes_all()),
    )


@dataclass(frozen=True)
class PrivateToken:
    token: Token
    value: str  # shown once


def private_token_create(
    *, location_id: str, scopes: list[str] | str, days: int | None = None
) -> PrivateToken:
    """A private integration token for one location (HighLevel's `pit-…`); ``days`` None = never expires."""
    if isinstance(scopes, str):
        scopes = scopes.split()
    location = SandboxLocation.objects.select_related("company").get(location_id=location_id)
    value = secret_new(prefix="pit-")
    token = Token.objects.create(
        kind=Token.PRIVATE,
        token_hash=secret_hash(value=value),
        hint=value[-6:],
        user_type=USER_TYPE_LOCATION,
        company=location.company,
        location=location,
        scopes=" ".join(sorted(set(scopes))),
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    return PrivateToken(token=token, value=value)
