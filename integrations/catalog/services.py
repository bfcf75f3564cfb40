"""The one way the portal calls a HighLevel operation: ``operation_run`` and ``operation_pages``.

``operation_id`` is the registry key ``"METHOD /path"`` exactly as the spec writes the path
(``"GET /contacts/{contactId}"``, ``"POST /contacts/"``); see :mod:`integrations.catalog.registry`.
Every call is checked (scopes and token type first, then the spec) before anything is sent, and is
sent through the HTTP door ``integrations.ghl.client.ghl_request``, which owns auth, rate limits,
retries and the sync log.
"""

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

from integrations.catalog.answers import answer_sample_check
from integrations.catalog.calls import (
    DEFAULT_VERSION,
    OperationRefused,
    PreparedCall,
    call_prepare,
    call_refusal,
)
from integrations.catalog.connections import ConnectionInfo, connection_info_get
from integrations.catalog.paging import DEFAULT_LIMIT, PAGE, SKIP, Paging, paging_next
from integrations.catalog.registry import Operation, operation_get
from integrations.ghl.paths import path_matches_template, path_record_ids

if TYPE_CHECKING:  # the door imports the catalog's callers; at run time it is imported late
    from integrations.ghl.client import DoorScope, GhlResponse

Params = Mapping[str, Any] | None


def operation_check(
    *, connection: ConnectionInfo, operation_id: str, params: Params = None, body: Any = None
) -> PreparedCall:
    """The validated PreparedCall for ``connection`` (a ConnectionInfo); raises on refusal."""
    operation = operation_get(operation_id)
    refusal = call_refusal(operation=operation, connection=connection)
    if refusal is not None:
        raise refusal
    return call_prepare(operation=operation, params=params, body=body, connection=connection)


@overload
def operation_run(
    *,
    connection_id: int,
    operation_id: str,
    params: Params = ...,
    body: Any = ...,
    job_id: int | None = ...,
    dry_run: Literal[False] = ...,
    user: Any = ...,
    max_attempts: int | None = ...,
) -> "GhlResponse": ...
@overload
def operation_run(
    *,
    connection_id: int,
    operation_id: str,
    params: Params = ...,
    body: Any = ...,
    job_id: int | None = ...,
    dry_run: bool,
    user: Any = ...,
    max_attempts: int | None = ...,
) -> "GhlResponse | PreparedCall": ...
def operation_run(
    *,
    connection_id: int,
    operation_id: str,
    params: Params = None,
    body: Any = None,
    job_id: int | None = None,
    dry_run: bool = False,
    user: Any = None,
    max_attempts: int | None = None,
) -> "GhlResponse | PreparedCall":
    """Run one operation on a connection; return the door's GhlResponse (or, dry, the request).

    Raises ``OperationRefused`` (missing scope named first, or wrong token type),
    ``OperationInvalid`` (field errors against the spec), ``ConnectionUnavailable``, and the
    door's ``GhlError`` for HighLevel's own refusals. ``user`` scopes the connection lookup.
    ``max_attempts`` caps the door's attempts (1 for a create that must not be sent twice).
    """
    connection = connection_info_get(connection_id=connection_id, user=user)
    call = operation_check(
        connection=connection, operation_id=operation_id, params=params, body=body
    )
    if dry_run:
        return call
    return call_send(
        connection_id=connection_id, call=call, job_id=job_id, max_attempts=max_attempts
    )


def call_send(
    *,
    connection_id: int,
    call: PreparedCall,
    job_id: int | None = None,
    max_attempts: int | None = None,
    scope: "DoorScope | None" = None,
) -> "GhlResponse":
    """Hand a prepared call to the HTTP door (imported at call time, so a test can stand in).
    ``scope``: a page loop's door scope (see :class:`integrations.ghl.client.DoorScope`)."""
    from integrations.ghl.client import ghl_request

    template = operation_get(call.operation).path
    if not path_matches_template(template=template, path=call.path):
        raise OperationRefused(
            f"{call.method} {call.path} does not match {call.operation}: nothing was sent."
        )
    headers = {k: v for k, v in call.headers.items() if k != "Version"}
    retry_safe = operation_get(call.operation).retry_safe
    response = ghl_request(
        connection_id=connection_id,
        method=call.method,
        path=call.path,
        operation_id=call.operation,
        version=call.headers.get("Version", DEFAULT_VERSION),
        params=call.query or None,
        json=call.json,
        data=call.data,
        files=call.files or None,
        job_id=job_id,
        headers=headers or None,
        max_attempts=max_attempts or None,
        retry_safe=retry_safe,
        record_ids=path_record_ids(template=template, path=call.path),
        scope=scope,
    )
    answer_sample_check(operation_key=call.operation, response=response)
    return response


def operation_pages(
    *,
    connection_id: int,
    operation_id: str,
    params: Params = None,
    body: Any = None,
    limit: int = DEFAULT_LIMIT,
    max_pages: int | None = None,
    job_id: int | None = None,
) -> Iterator["GhlResponse"]:
    """Yield one GhlResponse per page of a list operation, following its own paging style."""
    operation = operation_get(operation_id)
    params, body, limit = paging_start(operation=operation, params=params, body=body, limit=limit)
    pages = 0
    connection = connection_info_get(connection_id=connection_id)  # once for all the pages
    from integrations.ghl.client import DoorScope

    scope = DoorScope()  # the connection's app, location and agency: read once too
    while True:
        body = _body_paging_typed(operation=operation, body=body)
        call = operation_check(
            connection=connection, operation_id=operation.key, params=params, body=body
        )
        response = call_send(connection_id=connection_id, call=call, job_id=job_id, scope=scope)
        yield response
        pages += 1
        if max_pages is not None and pages >= max_pages:
            return
        following = paging_next(
            paging=operation.paging, params=params, body=body, data=response.data, limit=limit
        )
        if following is None:
            return
        params, body = following


def paging_start(
    *, operation: Operation, params: Params, body: Any, limit: int
) -> tuple[dict[str, Any], dict[str, Any] | None, int]:
    """First-page params and body: the page size (capped by the spec), page 1 or offset 0."""
    paging = operation.paging
    params = dict(params or {})
    body = dict(body) if body is not None else ({} if paging.where == "body" else None)
    target = body if paging.where == "body" else params
    if paging.limit_param:
        maximum = _limit_maximum(operation, paging)
        limit = min(limit, maximum) if maximum else limit
        target.setdefault(paging.limit_param, limit)
        limit = int(target[paging.limit_param])
    if paging.style == PAGE:
        target.setdefault("page", 1)
    elif paging.style == SKIP:
        target.setdefault(paging.cursor_params[0], 0)
    return params, body, limit


def _body_paging_typed(*, operation: Operation, body: Any) -> Any:
    """Page size and offset as the body schema types them (some specs want them as strings)."""
    if not isinstance(body, dict):
        return body
    props = (operation.body_schema or {}).get("properties") or {}
    return {
        name: str(value)
        if isinstance(value, int)
        and not isinstance(value, bool)
        and (props.get(name) or {}).get("type") == "string"
        else value
        for name, value in body.items()
    }


def _limit_maximum(operation: Operation, paging: Paging) -> int | None:
    if paging.where == "body":
        schema = ((operation.body_schema or {}).get("properties") or {}).get(paging.limit_param, {})
    else:
        schema = next((p.schema for p in operation.params if p.name == paging.limit_param), {})
    maximum = schema.get("maximum")
    return int(maximum) if isinstance(maximum, (int, float)) else None
