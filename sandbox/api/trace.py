"""HighLevel's ``traceId``: "a unique id for every request ... returned with every response"
(docs/oauth/Overview.md, *Standard Response Fields*), as a top-level field of the JSON body (the
specs show it there, e.g. contacts.json ``GetContactByIdSuccessfulResponseDto.traceId``)."""

import json
import uuid

from django.http import HttpResponse


def trace_id_new() -> str:
    return str(uuid.uuid4())


def trace_allowed(schema) -> bool:
    """Whether an answer of ``schema`` may carry a top-level ``traceId`` string: not where the
    spec types every extra key otherwise (e.g. free slots: date -> object) or forbids extra keys."""
    if not isinstance(schema, dict) or "traceId" in (schema.get("properties") or {}):
        return True
    extra = schema.get("additionalProperties", True)
    return (
        extra is True or extra == {} or (isinstance(extra, dict) and extra.get("type") == "string")
    )


def trace_body(body, schema=None):
    """``body`` with a fresh ``traceId`` when it is a JSON object without one that may take it."""
    if isinstance(body, dict) and "traceId" not in body and trace_allowed(schema):
        return {**body, "traceId": trace_id_new()}
    return body


def trace_stamp(response: HttpResponse) -> HttpResponse:
    """Add a ``traceId`` to an already built JSON object response (errors, OAuth answers)."""
    if response.streaming or "json" not in response.get("Content-Type", ""):
        return response
    try:
        body = json.loads(response.content)
    except ValueError:
        return response
    stamped = trace_body(body)
    if stamped is not body:
        response.content = json.dumps(stamped, separators=(",", ":")).encode()
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
    return response
