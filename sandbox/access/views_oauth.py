"""HTTP doors of HighLevel's OAuth: consent page, token endpoint, installed locations, location token.

Thin: parse, call a service from services/oauth.py, answer.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sandbox.access.gate import error_json, gate_enter, gate_leave
from sandbox.access.models import SandboxCompany, Token
from sandbox.access.services.oauth import (
    LocationTokenRefused,
    OAuthError,
    app_for_client,
    authorization_code_issue,
    installed_locations_list,
    location_token_issue,
    token_grant,
)

CONSENT_USER_ID = "sandbox-user-0001"  # the sandbox has no logins: one installing user
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class AccessOperation:
    """The three oauth.json operations the gate guards, in the dispatcher's operation shape."""

    method: str
    path: str
    operation_id: str
    scopes: list = field(default_factory=list)
    security: list = field(default_factory=list)
    spec_file: str = "oauth.json"


INSTALLED_LOCATIONS = AccessOperation(
    "GET",
    "/oauth/installedLocations",
    "get-installed-location",
    ["oauth.readonly"],
    [{"Agency-Access-Only": ["oauth.readonly"]}],
)
LOCATION_TOKEN = AccessOperation(
    "POST",
    "/oauth/locationToken",
    "get-location-access-token",
    ["oauth.write"],
    [{"Agency-Access-Only": ["oauth.write"]}],
)


def _redirect(uri: str, params: dict) -> HttpResponseRedirect:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return HttpResponseRedirect(urlunsplit(parts._replace(query=query)))


def _consent_request(params):
    """Validate the authorization request; returns (app, scopes, error page or None, redirect error)."""
    app = app_for_client(client_id=params.get("client_id", ""))
    redirect_uri = params.get("redirect_uri", "")
    if app is None:
        return None, [], "Unknown client_id: no such app on the sandbox marketplace.", None
    if redirect_uri not in app.redirect_uris:
        return app, [], f"redirect_uri {redirect_uri!r} is not registered for {app.name}.", None
    if params.get("response_type") != "code":
        return app, [], None, "unsupported_response_type"
    method = params.get("code_challenge_method", "")
    if (params.get("code_challenge") or method) and method != "S256":
        return app, [], None, "invalid_request"
    scopes = params.get("scope", "").split()
    if set(scopes) - app.scope_set:
        return app, scopes, None, "invalid_scope"
    return app, scopes, None, None


@csrf_exempt  # the sandbox has no signed-in user whose session a forged POST could ride
@require_http_methods(["GET", "POST"])
def consent(request):
    params = request.GET if request.method == "GET" else request.POST
    app, scopes, page_error, redirect_error = _consent_request(params)
    state = params.get("state")
    extra = {"state": state} if state is not None else {}
    if page_error:
        return render(
            request, "sandbox_access/consent_error.html", {"message": page_error}, status=400
        )
    if redirect_error:
        return _redirect(params["redirect_uri"], {"error": redirect_error, **extra})
    companies = SandboxCompany.objects.prefetch_related("locations").order_by("company_id")
    if request.method == "GET":
        hidden = [
            (name, params[name])
            for name in (
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "code_challenge",
                "code_challenge_method",
            )
            if name in params
        ]
        return render(
            request,
            "sandbox_access/consent.html",
            {
                "app": app,
                "scopes": scopes,
                "companies": companies,
                "hidden": hidden,
            },
        )
    if request.POST.get("decision") != "approve":
        return _redirect(params["redirect_uri"], {"error": "access_denied", **extra})
    agency_ids = request.POST.getlist("agency")
    location_ids = request.POST.getlist("location")
    owner_of = {loc.location_id: c.company_id for c in companies for loc in c.locations.all()}
    unknown = [loc for loc in location_ids if loc not in owner_of]
    chosen = set(agency_ids) | {owner_of[loc] for loc in location_ids if loc in owner_of}
    if unknown or len(chosen) != 1 or not {c.company_id for c in companies} >= chosen:
        return render(
            request,
            "sandbox_access/consent_error.html",
            {
                "message": "Pick the agency or one or more locations, all of one company.",
            },
            status=400,
        )
    company = next(c for c in companies if c.company_id in chosen)
    code = authorization_code_issue(
        app=app,
        company=company,
        location_ids=location_ids,
        agency_chosen=bool(agency_ids),
        redirect_uri=params["redirect_uri"],
        scopes=scopes,
        code_challenge=params.get("code_challenge", ""),
        user_id=CONSENT_USER_ID,
    )
    return _redirect(params["redirect_uri"], {"code": code, **extra})


@csrf_exempt
@require_POST
def token(request):
    if request.content_type != FORM_TYPE:
        return error_json(status=400, message=f"The body must be {FORM_TYPE}")
    try:
        answer = token_grant(data=request.POST)
    except OAuthError as refusal:
        return JsonResponse(refusal.body, status=refusal.status)
    return JsonResponse(answer)


def _guarded(request, operation, handler):
    result = gate_enter(request=request, operation=operation)
    response = result.response or handler(result)
    return gate_leave(request=request, result=result, response=response)


@require_GET
def installed_locations(request):
    def handler(result):
        missing = [
            f"{name} should not be empty"
            for name in ("companyId", "appId")
            if not request.GET.get(name)
        ]
        if missing:
            return error_json(status=422, message=missing)
        app = Token.objects.select_related("app").get(pk=result.token_id).app
        if request.GET["appId"] != app.client_id:
            return error_json(status=400, message="appId does not match the token's app")
        if request.GET["companyId"] != result.company_id:
            return error_json(status=400, message="companyId does not match the token")
        try:
            skip = int(request.GET.get("skip", "0"))
            limit = int(request.GET.get("limit", "20"))
        except ValueError:
            return error_json(status=422, message=["skip and limit must be whole numbers"])
        installed = {"true": True, "false": False}.get(request.GET.get("isInstalled", ""))
        return JsonResponse(
            installed_locations_list(
                app=app,
                company_id=result.company_id,
                skip=max(skip, 0),
                limit=max(limit, 0),
                query=request.GET.get("query", ""),
                is_installed=installed,
            )
        )

    return _guarded(request, INSTALLED_LOCATIONS, handler)


@csrf_exempt
@require_POST
def location_token(request):
    def handler(result):
        if request.content_type != FORM_TYPE:
            return error_json(status=400, message=f"The body must be {FORM_TYPE}")
        missing = [
            f"{name} should not be empty"
            for name in ("companyId", "locationId")
            if not request.POST.get(name)
        ]
        if missing:
            return error_json(status=422, message=missing)
        agency_token = Token.objects.select_related("app", "company").get(pk=result.token_id)
        try:
            answer = location_token_issue(
                agency_token=agency_token,
                company_id=request.POST["companyId"],
                location_id=request.POST["locationId"],
            )
        except LocationTokenRefused as refusal:
            return error_json(status=refusal.status, message=refusal.message)
        return JsonResponse(answer)

    return _guarded(request, LOCATION_TOKEN, handler)
