"""HighLevel's ``traceId``: "a unique id for every request ... returned with every response"
(docs/oauth/Overview.md, *Standard Response Fields*), as a top-level field of the JSON body (the
specs show it there, e.g. contacts.json ``GetContactByIdSuccessfulResponseDto.traceId``)."""

import json
import uuid

from django.http import HttpResponse


def trace_id_new() -> str:
    return str(uuid.uuid4())


def trace_body(body):
    """``body`` with a fresh ``traceId`` when it is a JSON object without one."""
    if isinstance(body, dict) and "traceId" not in body:
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
