"""OAuth 2.0 as HighLevel runs it: consent codes, the token endpoint, agency → location tokens.

Errors at the token endpoint use RFC 6749's shape (``{"error": "invalid_grant", ...}``), which is
what HighLevel's `/oauth/token` answers; a missing form field gets HighLevel's 422 shape.
"""

import base64
import hashlib
import hmac
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sandbox.access.models import (
    AuthorizationCode,
    Installation,
    MarketplaceApp,
    SandboxCompany,
    SandboxLocation,
    Token,
)
from sandbox.access.models.oauth import USER_TYPE_COMPANY, USER_TYPE_LOCATION
from sandbox.access.services.faults import fault_rule_for
from sandbox.access.services.secrets import secret_hash, secret_new
from sandbox.mode import sandbox_lenient

CODE_TTL = timedelta(minutes=10)
REFRESH_TTL = timedelta(days=365)
# HighLevel's newer SDKs send camelCase; the spec documents snake_case (lenient mode only).
CAMEL_FIELDS = {
    "clientId": "client_id",
    "clientSecret": "client_secret",
    "grantType": "grant_type",
    "refreshToken": "refresh_token",
    "userType": "user_type",
    "redirectUri": "redirect_uri",
    "codeVerifier": "code_verifier",
}
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")


class OAuthError(Exception):
    """A refusal at the token endpoint; ``body`` is what the client receives."""

    def __init__(self, *, status: int, error: str, description: str):
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


class OAuthUnprocessable(OAuthError):
    def __init__(self, *, messages: list[str]):
        super().__init__(status=422, error="Unprocessable Entity", description="; ".join(messages))
        self.body = {"statusCode": 422, "message": messages, "error": "Unprocessable Entity"}


def access_token_ttl() -> int:
    return settings.SANDBOX_ACCESS_TOKEN_TTL


def pkce_challenge(*, verifier: str) -> str:
    """S256: BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def app_for_client(*, client_id: str) -> MarketplaceApp | None:
    return MarketplaceApp.objects.filter(client_id=client_id).first()


@transaction.atomic
def authorization_code_issue(
    *,
    app: MarketplaceApp,
    company: SandboxCompany,
    location_ids: list[str],
    agency_chosen: bool,
    redirect_uri: str,
    scopes: list[str],
    code_challenge: str = "",
    user_id: str = "",
) -> str:
    """Install the app where the user approved it and return a fresh authorization code.

    The install events follow AppInstall.md: picking the agency is one agency-level ``INSTALL``
    (its locations are installed with it, silently); picking locations is one location-level
    ``INSTALL`` for each location newly installed.
    """
    from sandbox.access.services.lifecycle import DEFAULT_PLAN_ID, install_emit

    locations = list(SandboxLocation.objects.filter(company=company, location_id__in=location_ids))
    defaults = {"user_id": user_id, "plan_id": DEFAULT_PLAN_ID}
    fresh = []
    if agency_chosen:
        agency_install, created = Installation.objects.get_or_create(
            app=app, company=company, location=None, defaults=defaults
        )
        if created:
            fresh.append(agency_install)
        locations = list(company.locations.all())
    for location in locations:
        install, created = Installation.objects.get_or_create(
            app=app, company=company, location=location, defaults=defaults
        )
        if created and not agency_chosen:
            fresh.append(install)
    for install in fresh:
        install_emit(install=install)
    code = secret_new(prefix="", nbytes=24)
    AuthorizationCode.objects.create(
        code_hash=secret_hash(value=code),
        app=app,
        company=company,
        location_ids=[loc.location_id for loc in locations],
        agency_chosen=agency_chosen,
        redirect_uri=redirect_uri,
        scopes=" ".join(scopes),
        code_challenge=code_challenge,
        user_id=user_id,
        expires_at=timezone.now() + CODE_TTL,
    )
    return code


def token_form_normalise(*, data) -> dict:
    form = {}
    lenient = sandbox_lenient()
    for key in data:
        form[CAMEL_FIELDS.get(key, key) if lenient else key] = data.get(key)
    return form


def token_grant(*, data) -> dict:
    """`POST /oauth/token`: the answer's JSON for a valid grant, else :class:`OAuthError`."""
    form = token_form_normalise(data=data)
    missing = [
        f"{name} should not be empty"
        for name in ("client_id", "client_secret", "grant_type")
        if not form.get(name)
    ]
    if missing:
        raise OAuthUnprocessable(messages=missing)
    if form["grant_type"] not in GRANT_TYPES:
        raise OAuthUnprocessable(messages=[f"grant_type must be one of: {', '.join(GRANT_TYPES)}"])
    user_type = form.get("user_type") or None
    if user_type not in (None, USER_TYPE_COMPANY, USER_TYPE_LOCATION):
        raise OAuthUnprocessable(messages=["user_type must be one of: Company, Location"])
    app = app_for_client(client_id=form["client_id"])
    if app is None or not hmac.compare_digest(
        app.client_secret_hash, secret_hash(value=form["client_secret"])
    ):
        raise OAuthError(
            status=401, error="invalid_client", description="Invalid client credentials"
        )
    if form["grant_type"] == "authorization_code":
        return _grant_code(app=app, form=form, user_type=user_type)
    if form["grant_type"] == "refresh_token":
        return _grant_refresh(app=app, form=form)
    raise OAuthError(
        status=400,
        error="unsupported_grant_type",
        description="client_credentials is not available to marketplace apps",
    )


def _invalid_grant(description: str) -> OAuthError:
    return OAuthError(status=400, error="invalid_grant", description=description)


@transaction.atomic
def _grant_code(*, app, form, user_type) -> dict:
    if not form.get("code"):
        raise OAuthUnprocessable(messages=["code should not be empty"])
    now = timezone.now()
    code = (
        AuthorizationCode.objects.select_related("company")
        .filter(code_hash=secret_hash(value=form["code"]), app=app)
        .first()
    )
    if code is None or code.expires_at <= now:
        raise _invalid_grant("Invalid grant: authorization code is invalid")
    if form.get("redirect_uri") and form["redirect_uri"] != code.redirect_uri:
        raise _invalid_grant("Invalid grant: redirect_uri does not match the authorization request")
    if code.code_challenge:
        verifier = form.get("code_verifier") or ""
        if not verifier or not hmac.compare_digest(
            pkce_challenge(verifier=verifier), code.code_challenge
        ):
            raise _invalid_grant("Invalid grant: code_verifier does not match the code_challenge")
    # Spend the code exactly once, even when two exchanges race.
    if AuthorizationCode.objects.filter(pk=code.pk, used_at=None).update(used_at=now) != 1:
        raise _invalid_grant("Invalid grant: authorization code was already used")
    if user_type is None:
        single = len(code.location_ids) == 1 and not code.agency_chosen
        user_type = USER_TYPE_LOCATION if single else USER_TYPE_COMPANY
    location = None
    if user_type == USER_TYPE_LOCATION:
        if code.agency_chosen or len(code.location_ids) != 1:
            raise OAuthError(
                status=400,
                error="invalid_request",
                description="The installation covers the agency or several locations: ask for "
                "user_type=Company, then POST /oauth/locationToken per location",
            )
        location = SandboxLocation.objects.get(location_id=code.location_ids[0])
    return _token_pair_issue(
        app=app,
        company=code.company,
        location=location,
        user_type=user_type,
        scopes=code.scopes,
        user_id=code.user_id,
        approved=code.location_ids,
        bulk=code.agency_chosen or len(code.location_ids) > 1,
        agency=code.agency_chosen,
    )


@transaction.atomic
def _grant_refresh(*, app, form) -> dict:
    value = form.get("refresh_token")
    if not value:
        raise OAuthUnprocessable(messages=["refresh_token should not be empty"])
    now = timezone.now()
    old = (
        Token.objects.select_related("company", "location")
        .filter(token_hash=secret_hash(value=value), kind=Token.REFRESH, app=app)
        .first()
    )
    if old is None or old.revoked_at or (old.expires_at and old.expires_at <= now):
        raise _invalid_grant("Invalid grant: refresh token is invalid")
    rule = fault_rule_for(location_id=old.location.location_id if old.location else "")
    if rule is not None and rule.refuse_refresh:
        raise _invalid_grant("Invalid grant: refresh token is invalid (refused by sandbox fault)")
    # Single use: the conditional update lets exactly one of two racing refreshes win.
    if Token.objects.filter(pk=old.pk, used_at=None).update(used_at=now) != 1:
        raise _invalid_grant("Invalid grant: refresh token is invalid")
    return _token_pair_issue(
        app=app,
        company=old.company,
        location=old.location,
        user_type=old.user_type,
        scopes=old.scopes,
        user_id=old.user_id,
        approved=old.approved_location_ids,
        bulk=len(old.approved_location_ids) > 1,
        agency=False,
    )


def _token_new(*, kind, ttl, **fields) -> tuple[Token, str]:
    value = secret_new(prefix="sbx-at-" if kind == Token.ACCESS else "sbx-rt-")
    token = Token.objects.create(
        kind=kind,
        token_hash=secret_hash(value=value),
        hint=value[-6:],
        expires_at=timezone.now() + ttl,
        **fields,
    )
    return token, value


def _token_pair_issue(
    *, app, company, location, user_type, scopes, user_id, approved, bulk, agency
) -> dict:
    fields = {
        "app": app,
        "company": company,
        "location": location,
        "user_type": user_type,
        "scopes": scopes,
        "user_id": user_id,
        "approved_location_ids": approved if user_type == USER_TYPE_COMPANY else [],
    }
    ttl = access_token_ttl()
    _, access = _token_new(kind=Token.ACCESS, ttl=timedelta(seconds=ttl), **fields)
    _, refresh = _token_new(kind=Token.REFRESH, ttl=REFRESH_TTL, **fields)
    answer = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
        "refresh_token": refresh,
        "scope": scopes,
        "userType": user_type,
        "companyId": company.company_id,
        "userId": user_id,
    }
    if location is not None:
        answer["locationId"] = location.location_id
    else:
        answer["approvedLocations"] = list(approved)
        answer["isBulkInstallation"] = bulk
        answer["approveAllLocations"] = agency
        answer["installToFutureLocations"] = agency
    return answer


class LocationTokenRefused(Exception):
    def __init__(self, *, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@transaction.atomic
def location_token_issue(*, agency_token: Token, company_id: str, location_id: str) -> dict:
    """`POST /oauth/locationToken`: a location access token from an agency (Company) token."""
    if agency_token.user_type != USER_TYPE_COMPANY or agency_token.app_id is None:
        raise LocationTokenRefused(status=401, message="This route needs an agency access token")
    if company_id != agency_token.company.company_id:
        raise LocationTokenRefused(status=400, message="companyId does not match the token")
    location = SandboxLocation.objects.filter(
        location_id=location_id, company=agency_token.company
    ).first()
    installed = (
        location is not None
        and Installation.objects.filter(app=agency_token.app, location=location).exists()
    )
    if not installed:
        raise LocationTokenRefused(status=400, message="The app is not installed on this location")
    ttl = access_token_ttl()
    _, access = _token_new(
        kind=Token.ACCESS,
        ttl=timedelta(seconds=ttl),
        app=agency_token.app,
        company=agency_token.company,
        location=location,
        user_type=USER_TYPE_LOCATION,
        scopes=agency_token.scopes,
        user_id=agency_token.user_id,
    )
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": agency_token.scopes,
        "locationId": location.location_id,
        "userId": agency_token.user_id,
        "appId": agency_token.app.client_id,
    }


def installed_locations_list(
    *,
    app: MarketplaceApp,
    company_id: str,
    skip: int,
    limit: int,
    query: str = "",
    is_installed: bool | None = None,
) -> dict:
    """`GET /oauth/installedLocations` for ``app`` in one company."""
    locations = SandboxLocation.objects.filter(company__company_id=company_id).order_by(
        "location_id"
    )
    if query:
        locations = locations.filter(name__icontains=query)
    installs = {
        i.location_id: i
        for i in Installation.objects.filter(
            app=app, company__company_id=company_id, location__isnull=False
        )
    }
    rows = []
    for location in locations:
        install = installs.get(location.pk)
        if is_installed is not None and bool(install) != is_installed:
            continue
        row = {
            "_id": location.location_id,
            "name": location.name,
            "address": location.address,
            "isInstalled": bool(install),
        }
        if install:
            row["installedAt"] = install.installed_at.isoformat().replace("+00:00", "Z")
        rows.append(row)
    agency_install = Installation.objects.filter(
        app=app, company__company_id=company_id, location__isnull=True
    ).exists()
    return {
        "locations": rows[skip : skip + limit],
        "count": len(rows),
        "installToFutureLocations": agency_install,
    }


def tokens_expire(*, location_id: str = "") -> int:
    """Expire every live access token now (for one location, or all when blank). Returns how many."""
    now = timezone.now()
    tokens = Token.objects.filter(kind__in=[Token.ACCESS, Token.PRIVATE]).exclude(
        expires_at__lte=now
    )
    if location_id:
        tokens = tokens.filter(location__location_id=location_id)
    return tokens.update(expires_at=now)
