"""The one view behind ``/sandbox/api/<path>``: route, gate, validate, handle, shape, validate.

For every request: find the operation by method and path (404 as NestJS answers otherwise), let
the access gate answer first (401/403/429/faults) and tell which location and company the token is
for, validate the request against the spec (400/422), refuse a location other than the token's
(403), run the operation's handler (stateful ones from ``ROUTES``, the rest answer from the
spec's schema and examples), fit and check the body against the response schema for the status,
and let the gate add its headers on the way out.
"""

import json
import logging
from functools import cache

from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.access import gate, views_oauth
from sandbox.access.models import SandboxLocation
from sandbox.api.context import Call, Reply
from sandbox.api.handlers.routes import ROUTES
from sandbox.api.trace import trace_body, trace_stamp
from sandbox.errors import ApiError, error_body
from sandbox.spec import schemas
from sandbox.spec.registry import registry_get
from sandbox.spec.requests import RequestInvalid, request_validate

log = logging.getLogger(__name__)

LOCATION_FIELDS = ("locationId", "location_id", "altId")


def _json(body, status: int, schema=None) -> HttpResponse:
    if status == 204:
        return HttpResponse(status=204)
    return HttpResponse(
        json.dumps(trace_body(body, schema), separators=(",", ":")),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def _error(status: int, message) -> HttpResponse:
    if status == 422 and not isinstance(message, list):
        message = [message]
    if status != 422 and isinstance(message, list):
        message = ", ".join(message)
    return _json(error_body(status=status, message=message), status)


@cache
def default_body(op_key) -> object:
    """The answer of an operation without state: the spec's example, or a minimal valid body."""
    op = registry_get().by_key[op_key]
    schema = op.responses.get(op.success_status)
    return schemas.sample_valid(schema) if schema else {}


def default_handler(call: Call) -> Reply:
    return Reply(json.loads(json.dumps(default_body(call.op.key))))


def requested_location(call: Call) -> str:
    """The location a request names: in its path, query or body."""
    for source in (call.valid.path, call.query, call.body):
        for name in LOCATION_FIELDS:
            value = source.get(name)
            if isinstance(value, str) and value:
                if (
                    name == "altId"
                    and (call.body.get("altType") or call.query.get("altType")) != "location"
                ):
                    continue
                return value
    return ""


@cache
def _without(schema_key, names: frozenset):
    op_key, status = schema_key
    schema = registry_get().by_key[op_key].responses[status]
    props = {k: v for k, v in schema.get("properties", {}).items() if k not in names}
    return {
        **schema,
        "properties": props,
        "required": [n for n in schema.get("required", []) if n not in names],
    }


def company_location_check(*, company_id: str, location_id: str) -> None:
    """An agency token reaches its own company's locations only (403 as for location tokens)."""
    if not SandboxLocation.objects.filter(
        location_id=location_id, company__company_id=company_id
    ).exists():
        raise ApiError(403, "The token does not have access to this location.")


class AnswerBreaksSpec(Exception):
    """A sandbox bug: the answer could not be made to validate. Answered as a JSON 500."""


def shape(op, status: int, body):
    """The body fitted to the spec's schema for ``status``; a sandbox bug if it still fails.

    Lists of stored resources are fitted item by item through a cache (``fit_item``) and the
    envelope is checked without them: a page of 100 contacts must stay cheap.
    """
    schema = op.responses.get(status)
    if not schema:
        return body
    if isinstance(body, dict):
        props = schema.get("properties", {})
        lists = frozenset(
            k
            for k, v in body.items()
            if isinstance(v, list)
            and len(v) > 1
            and props.get(k, {}).get("type") == "array"
            and props[k].get("items", {}).get("type") == "object"
        )
        if lists:
            items = {k: [schemas.fit_item(props[k]["items"], i) for i in body[k]] for k in lists}
            rest = shape_envelope(
                op,
                status,
                {k: v for k, v in body.items() if k not in lists},
                _without((op.key, status), lists),
            )
            return {**rest, **items}
    return shape_envelope(op, status, body, schema)


def shape_envelope(op, status, body, schema):
    fitted = schemas.fit(schema, body)
    if fitted is not body:
        problems = schemas.errors(schema, fitted)
        if problems:
            raise AnswerBreaksSpec(
                f"sandbox answer for {op.method} {op.path} breaks the spec: {problems[:3]}"
            )
    return fitted


# oauth.json's operations are sandbox.access's views (also mounted at /sandbox/oauth/...): the
# API base answers them the same way rather than with a made-up token.
DELEGATED = {
    ("POST", "/oauth/token"): "token",
    ("GET", "/oauth/installedLocations"): "installed_locations",
    ("POST", "/oauth/locationToken"): "location_token",
}


@csrf_exempt
def api_dispatch(request, path: str = ""):
    registry = registry_get()
    path = "/" + path
    op, path_params = registry.route(request.method, path)
    if op is None:
        return _error(404, f"Cannot {request.method} {path}")
    if op.key in DELEGATED:
        return trace_stamp(getattr(views_oauth, DELEGATED[op.key])(request))
    result = gate.gate_enter(request=request, operation=op)
    if result.response is not None:
        return gate.gate_leave(
            request=request, result=result, response=trace_stamp(result.response)
        )
    response = _answer(request, op, path_params, result)
    return gate.gate_leave(request=request, result=result, response=response)


def _answer(request, op, path_params, result) -> HttpResponse:
    try:
        valid = request_validate(request=request, op=op, path_params=path_params)
    except RequestInvalid as exc:
        return _error(exc.status, exc.messages)
    token_location = getattr(result, "location_id", None) or ""
    call = Call(
        request=request,
        op=op,
        valid=valid,
        token_location_id=token_location,
        company_id=getattr(result, "company_id", None) or "",
    )
    try:
        named = requested_location(call)
        call.check_location(named)
        if named and not token_location and call.company_id:
            company_location_check(company_id=call.company_id, location_id=named)
        call.location_id = token_location or named
        handler = ROUTES.get(op.key, default_handler)
        if op.method == "GET":
            reply = handler(call)  # reads need no transaction (and no commit)
        else:
            with transaction.atomic():
                reply = handler(call)
        status = reply.status or op.success_status
        return _json(shape(op, status, reply.body), status, op.responses.get(status))
    except ApiError as exc:
        return _error(exc.status, exc.message)
    except AnswerBreaksSpec as exc:
        log.error("%s", exc)
        return _error(500, str(exc))
