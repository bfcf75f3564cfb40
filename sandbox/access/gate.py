"""The gate every sandbox API request passes: token, scope, rate limit, injected faults.

The dispatcher calls, for every API operation::

    result = gate_enter(request=request, operation=operation)
    if result.response is not None:
        return gate_leave(request=request, result=result, response=result.response)
    response = ...handle the operation for result.location_id / result.company_id...
    return gate_leave(request=request, result=result, response=response)

``operation`` needs ``.method``, ``.path``, ``.operation_id``, ``.scopes`` (the scopes of the
spec's ``security``; any one of them suffices) and ``.spec_file``; an optional ``.security``
(the spec's raw list) also enforces which token type (agency or location) may call it, and an
explicitly empty ``.security`` makes the token optional.
"""

import socket
import time
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus

from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.html import format_html

from sandbox.access.models import FaultRule, Token
from sandbox.access.models.oauth import USER_TYPE_COMPANY, USER_TYPE_LOCATION
from sandbox.access.services.faults import FaultPlan, fault_plan_draw
from sandbox.access.services.ratelimit import RateState, rate_key, rate_limit_hit
from sandbox.access.services.secrets import secret_hash
from sandbox.mode import sandbox_lenient
from sandbox.queries import rows_of

# `Version` values HighLevel's servers take (the specs list only 2021-07-28 for most routes).
ACCEPTED_VERSIONS = ("2021-07-28", "2021-04-15", "v3")  # v3: lenient mode only (sandbox/mode.py)
INVALID_TOKEN = "Invalid token: access token is invalid"  # noqa: S105 (an error message)
EXPIRED_TOKEN = "Invalid JWT"  # noqa: S105 (an error message)
SCOPE_REFUSED = "The token is not authorized for this scope."
AUTH_CLASS_REFUSED = (
    "This authClass type is not allowed to access this scope. "
    "Please reach out to the Platform team to get it added."
)
LOCATION_REFUSED = "The token does not have access to this location."
COMPANY_SCHEMES = {"Agency-Access", "Agency-Access-Only", "bearer"}
LOCATION_SCHEMES = {"Location-Access", "Location-Access-Only", "bearer"}
PRIVATE_SCHEMES = {"Location-Access", "Agency-Access", "bearer"}
_NOT_GIVEN = object()


@dataclass
class GateResult:
    """What the gate decided. ``response`` set = answer it now; else who is calling."""

    response: HttpResponse | None = None
    location_id: str | None = None
    company_id: str | None = None
    token_id: int | None = None
    user_type: str | None = None
    app_id: int | None = None
    scopes: frozenset = frozenset()
    rate: RateState | None = None
    faults: FaultPlan | None = None


def error_json(*, status: int, message, **extra) -> JsonResponse:
    """HighLevel's error body: ``statusCode``, ``message`` and the reason phrase as ``error``."""
    body = {"statusCode": status, "message": message, "error": HTTPStatus(status).phrase}
    body.update(extra)
    return JsonResponse(body, status=status)


def _bearer(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@dataclass(frozen=True)
class Bearer:
    """What the gate needs of the live token a request carries (one compiled query, no model)."""

    pk: int
    kind: str
    user_type: str
    app_id: int | None
    scopes: str
    expires_at: datetime | None
    revoked_at: datetime | None
    company_id: str
    location_id: str | None
    fault_rule_id: int | None  # the enabled fault rule for its location, else the global one


_BEARER_FIELDS = (
    "pk",
    "kind",
    "user_type",
    "app_id",
    "scopes",
    "expires_at",
    "revoked_at",
    "company__company_id",
    "location__location_id",
    "fault_rule_id",
)


def _bearer_query(token_hash: str):
    """The token, with the fault rule :func:`fault_rule_for` would pick (read in the same query:
    every request asks, and almost never finds one)."""

    def enabled(location_id):
        rules = FaultRule.objects.filter(enabled=True, location_id=location_id)
        return Subquery(rules.order_by("pk").values("pk")[:1])

    return Token.objects.filter(
        token_hash=token_hash, kind__in=[Token.ACCESS, Token.PRIVATE]
    ).annotate(fault_rule_id=Coalesce(enabled(OuterRef("location__location_id")), enabled("")))


def _type_allowed(token: Bearer, security) -> bool:
    schemes = {name for alternative in security or () for name in alternative}
    if not schemes:
        return True
    if token.kind == Token.PRIVATE:
        return bool(schemes & PRIVATE_SCHEMES)
    if token.user_type == USER_TYPE_COMPANY:
        return bool(schemes & COMPANY_SCHEMES)
    return bool(schemes & LOCATION_SCHEMES)


def token_authenticate(*, request) -> tuple[Bearer | None, JsonResponse | None]:
    """The live access or private token the request carries, or the 401 to answer."""
    value = _bearer(request)
    if not value:
        return None, error_json(status=401, message=INVALID_TOKEN)
    found = rows_of(
        "gate.bearer",
        lambda token_hash: _bearer_query(token_hash).values_list(*_BEARER_FIELDS)[:1],
        [secret_hash(value=value)],
    )
    token = Bearer(*found[0]) if found else None
    if token is None or token.revoked_at:
        return None, error_json(status=401, message=INVALID_TOKEN)
    if token.expires_at and token.expires_at <= timezone.now():
        return None, error_json(status=401, message=EXPIRED_TOKEN)
    return token, None


def gate_enter(*, request, operation) -> GateResult:
    version = request.headers.get("Version")
    accepted = ACCEPTED_VERSIONS if sandbox_lenient() else ACCEPTED_VERSIONS[:2]
    if version is not None and version not in accepted:
        return GateResult(
            response=error_json(
                status=400, message=f"Version header must be one of {', '.join(accepted)}"
            )
        )
    security = getattr(operation, "security", _NOT_GIVEN)
    if security is not _NOT_GIVEN and not security and not _bearer(request):
        return GateResult()  # the spec asks for no token and none was sent
    token, refusal = token_authenticate(request=request)
    if refusal is not None:
        return GateResult(response=refusal)
    result = GateResult(
        location_id=token.location_id,
        company_id=token.company_id,
        token_id=token.pk,
        user_type=token.user_type,
        app_id=token.app_id,
        scopes=frozenset(token.scopes.split()),
    )
    if security is not _NOT_GIVEN and not _type_allowed(token, security):
        result.response = error_json(status=401, message=AUTH_CLASS_REFUSED)
        return result
    needed = set(operation.scopes or ())
    if needed and not needed & result.scopes:
        result.response = error_json(status=401, message=SCOPE_REFUSED)
        return result
    resource = result.location_id or result.company_id
    result.rate = rate_limit_hit(
        key=rate_key(app_id=token.app_id, token_id=token.pk, resource=resource)
    )
    if result.rate.exceeded:
        result.response = _too_many(retry_after=result.rate.retry_after_s)
        return result
    rule = FaultRule.objects.filter(pk=token.fault_rule_id).first() if token.fault_rule_id else None
    if rule is not None:
        result.faults = plan = fault_plan_draw(rule=rule)
        if plan.latency_ms:
            time.sleep(plan.latency_ms / 1000)
        if plan.storm:
            result.response = _too_many(retry_after=plan.retry_after)
        elif plan.error_status:
            result.response = error_json(
                status=plan.error_status, message=HTTPStatus(plan.error_status).phrase
            )
        elif plan.html:
            result.response = _html_error_page()
    return result


def gate_location_check(*, result: GateResult, location_id: str) -> JsonResponse | None:
    """403 when a location token (or PIT) addresses another location than its own."""
    if result.user_type == USER_TYPE_LOCATION and location_id and location_id != result.location_id:
        return error_json(status=403, message=LOCATION_REFUSED)
    return None


def gate_leave(*, request, result: GateResult, response: HttpResponse) -> HttpResponse:
    """Add the rate-limit headers and apply response-side faults (a dropped connection)."""
    if result.rate is not None:
        for name, value in result.rate.headers().items():
            if name not in response:
                response[name] = value
    if result.faults is not None and result.faults.drop and not response.streaming:
        return _dropped(request=request, response=response)
    return response


def _too_many(*, retry_after: int) -> JsonResponse:
    response = error_json(status=429, message="Too Many Requests")
    response["Retry-After"] = str(retry_after)
    return response


def _html_error_page() -> HttpResponse:
    # What a proxy in front of HighLevel answers when the API behind it is down.
    html = format_html(
        "<!DOCTYPE html><html><head><title>{title}</title></head><body>"
        "<h1>{title}</h1><p>{detail}</p></body></html>",
        title="502 Bad Gateway",
        detail="The server encountered a temporary error and could not complete your request.",
    )
    return HttpResponse(html, status=502, content_type="text/html; charset=utf-8")


def _connection_socket(environ):
    """The client socket under gunicorn or Django's own server (runserver, live_server)."""
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        return sock
    reader = getattr(getattr(environ.get("wsgi.input"), "_read", None), "__self__", None)
    return getattr(getattr(reader, "raw", None), "_sock", None)


def _dropped(*, request, response: HttpResponse) -> StreamingHttpResponse:
    """Announce the whole body, send half, then cut the connection: the client sees it broken."""
    body = response.content
    environ = request.META

    def halves():
        yield body[: max(1, len(body) // 2)]
        sock = _connection_socket(environ)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise ConnectionAbortedError("sandbox fault: connection dropped mid-response")

    dropped = StreamingHttpResponse(halves(), status=response.status_code)
    for name, value in response.items():
        dropped[name] = value
    dropped["Content-Length"] = str(len(body) or 1)
    return dropped
