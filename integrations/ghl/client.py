"""The one door to HighLevel: every API request goes through :func:`ghl_request`.

It picks the base URL from the connection's app mode, sends bearer auth and the operation's
``Version`` header with connect/read timeouts, waits for the shared rate-limit budget, refreshes
once on a 401 for an expired token, retries transient failures (429, 5xx, timeouts, resets,
HTML pages, truncated JSON) with exponential backoff and full jitter, honouring ``Retry-After``,
for a bounded number of attempts, and logs every attempt in the sync log.
"""

import email.utils
import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from integrations.ghl import oauth
from integrations.ghl.deadline import deadline_remaining
from integrations.ghl.errors import (
    GhlBadResponse,
    GhlError,
    GhlInvalid,
    GhlNetworkError,
    GhlNotConnected,
    GhlNotFound,
    GhlOutcomeUnknown,
    GhlRateLimited,
    GhlScopeError,
    GhlServerError,
    GhlTokenExpired,
)
from integrations.ghl.headers import headers_lower
from integrations.ghl.models import Connection
from integrations.ghl.paths import path_problem
from integrations.ghl.ratelimit import (
    ratelimit_acquire,
    ratelimit_key,
    ratelimit_observe,
    ratelimit_settle,
)
from integrations.ghl.retry import IDEMPOTENT_METHODS
from integrations.ghl.statements import row_get, row_with_related
from integrations.ghl.transport import Attempt, LogContext, first_byte, http_attempt
from integrations.ghl.uploads import UploadFile
from portal.redact import connection_secrets, text_mask

_sleep = time.sleep  # tests replace this to record the backoff


@dataclass
class GhlResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    data: Any = None  # HighLevel's JSON answer: whatever shape the operation documents
    trace_id: str = ""
    attempts: int = 1
    duration_ms: int = 0


_RELATED = ("app", "location", "agency")


class DoorScope:
    """What stays put over one page loop (:func:`integrations.catalog.services.operation_pages`):
    each connection's app, location and agency, read with its first request. The connection's
    own row (its status and tokens) is still read for every request, by a one-table statement;
    should it point at another app, location or agency, those are read again."""

    def __init__(self) -> None:
        self._known: dict[int, Connection] = {}

    def connection(self, connection_id: int) -> Connection:
        known = self._known.get(connection_id)
        if known is not None:
            fresh = row_get(model=Connection, value=connection_id)
            if fresh is not None and all(
                getattr(fresh, f"{name}_id") == getattr(known, f"{name}_id") for name in _RELATED
            ):
                for name in _RELATED:
                    setattr(fresh, name, getattr(known, name))
                return fresh
        connection = row_with_related(model=Connection, pk=connection_id, related=_RELATED)
        self._known[connection_id] = connection
        return connection


def ghl_request(
    *,
    connection_id: int,
    method: str,
    path: str,
    operation_id: str = "",
    version: str = "2021-07-28",
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    data: Any = None,
    job_id: int | None = None,
    headers: Mapping[str, str] | None = None,
    max_attempts: int | None = None,
    retry_safe: bool | None = None,
    files: dict[str, UploadFile] | None = None,
    record_ids: Iterable[str] = (),
    scope: DoorScope | None = None,
) -> GhlResponse:
    """Send one HighLevel API request for ``connection_id``; raise :class:`GhlError` when it fails for good.

    ``path`` is already filled in ("/contacts/abc123"); ``params`` go to the query string,
    ``json`` or ``data`` (form) to the body; ``files`` (field -> :class:`UploadFile`) make it
    multipart/form-data with ``data`` as the other form fields. Call it outside ``transaction.atomic()``: a token
    refresh commits in its own durable transaction (nesting it raises RuntimeError), and the
    sync log rows should survive the caller's rollback. ``max_attempts`` defaults to
    ``GHL_MAX_ATTEMPTS``.

    ``retry_safe`` (default: by the method, see :mod:`integrations.ghl.retry`) says whether the
    request may be sent again after its answer was lost. When it may not, a failure after which
    HighLevel may have acted on it (a dropped or timed-out answer, a 5xx, an HTML page) raises
    :class:`GhlOutcomeUnknown` at once: never re-sent blind. A 429, a refreshed 401 and a
    connection never made prove nothing was done, so those are still retried.

    ``record_ids``: the HighLevel records the request is about, kept in each attempt's log row.
    ``scope``: a page loop's :class:`DoorScope` (the connection's app, location and agency read
    once for all its pages).
    """
    if retry_safe is None:
        retry_safe = method.upper() in IDEMPOTENT_METHODS
    return _request(
        connection_id=connection_id,
        method=method,
        path=path,
        operation_id=operation_id,
        version=version,
        params=params,
        json=json,
        data=data,
        job_id=job_id,
        headers=headers,
        allow_refresh=True,
        max_attempts=max_attempts,
        retry_safe=retry_safe,
        files=files,
        record_ids=tuple(record_ids),
        scope=scope,
    )


def _outcome_unknown(error: GhlError) -> bool:
    """True when HighLevel may have acted on the request although the answer says otherwise."""
    if isinstance(error, GhlNetworkError):
        return bool(error.sent)
    return isinstance(error, (GhlServerError, GhlBadResponse))


def _request(
    *,
    connection_id: int,
    method: str,
    path: str,
    operation_id: str = "",
    version: str = "2021-07-28",
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    data: Any = None,
    job_id: int | None = None,
    headers: Mapping[str, str] | None = None,
    allow_refresh: bool = True,
    max_attempts: int | None = None,
    retry_safe: bool = True,
    files: dict[str, UploadFile] | None = None,
    record_ids: tuple[str, ...] = (),
    scope: DoorScope | None = None,
) -> GhlResponse:
    problem = path_problem(path)
    if problem:
        raise GhlInvalid(problem, permanent=True, operation_id=operation_id)
    connection = (
        scope.connection(connection_id)
        if scope is not None
        else row_with_related(model=Connection, pk=connection_id, related=_RELATED)
    )
    if connection.status != Connection.Status.ACTIVE:
        raise GhlNotConnected(
            f"The connection is {connection.get_status_display().lower()}: "
            "nothing was sent. Connect it again from the admin.",
            operation_id=operation_id,
        )
    token = (
        oauth.connection_token_ensure(connection=connection, send=_request)
        if allow_refresh
        else connection.access_token
    )
    secrets = (token, *connection_secrets(connection))
    key = ratelimit_key(app_id=connection.app_id, resource_id=connection.resource_id)
    url = connection.app.api_base_url + path
    started = time.monotonic()
    max_attempts = max_attempts or int(settings.GHL_MAX_ATTEMPTS)
    refreshed = False
    attempt = 0
    error: GhlError | None = None
    while attempt < max_attempts:
        attempt += 1
        remaining = deadline_remaining()
        if remaining is not None and remaining <= 0:
            error = _deadline_error(operation_id=operation_id, last=error)
            break
        stamp = ratelimit_acquire(key=key)
        sent_headers = {
            "Accept": "application/json",
            **(headers or {}),
            "Authorization": f"Bearer {token}",
            "Version": version,
        }
        log = LogContext(
            connection_id=connection.pk,
            location_id=connection.location_id,
            operation_id=operation_id,
            job_id=job_id,
            secrets=secrets,
            record_ids=record_ids,
        )
        result = http_attempt(
            method=method,
            url=url,
            headers=sent_headers,
            params=params,
            json=json,
            data=data,
            attempt=attempt,
            log=log,
            path=path,
            files=files,
            timeout_cap=remaining,
        )
        ratelimit_settle(key=key, stamp=stamp)
        retry_after = retry_after_parse(result.lowered)
        if result.status is not None:
            ratelimit_observe(
                key=key,
                headers=result.lowered,
                status=result.status,
                retry_after=retry_after,
                stamp=stamp,
            )
        outcome = _classify(
            result, operation_id=operation_id, retry_after=retry_after, secrets=secrets
        )
        if isinstance(outcome, GhlResponse):
            response = outcome
            response.attempts = attempt
            response.duration_ms = int((time.monotonic() - started) * 1000)
            _record_success(connection)
            return response
        error = outcome
        if isinstance(error, GhlTokenExpired) and allow_refresh and not refreshed:
            # OAuth: refresh once (or use the token another worker just got). A private token
            # cannot be refreshed: this marks it needs re-auth and raises.
            connection = oauth.connection_token_refresh(
                connection_id=connection.pk, seen_access_token=token, send=_request
            )
            token = connection.access_token
            secrets = (*secrets, *connection_secrets(connection))
            refreshed = True
            max_attempts += 1  # the refresh retry does not eat a transient attempt
            continue
        if error.permanent:
            break
        if not retry_safe and _outcome_unknown(error):
            error = GhlOutcomeUnknown(
                f"{error.message} HighLevel may have acted on it: it is not sent again blind; "
                "the record is looked up before anything is created again.",
                status=error.status,
                trace_id=error.trace_id,
                operation_id=operation_id,
                retry_after=error.retry_after,
            )
            break
        if attempt >= max_attempts:
            break
        if retry_after is not None and retry_after > settings.GHL_MAX_RETRY_AFTER:
            break  # let the caller reschedule rather than hold a worker for minutes
        delay = backoff_delay(attempt=attempt, retry_after=retry_after)
        remaining = deadline_remaining()
        if remaining is not None and delay >= remaining:
            error = _deadline_error(operation_id=operation_id, last=error)
            break
        _sleep(delay)
    if error is None:  # max_attempts < 1: nothing was sent
        error = GhlError("No attempt was allowed.", permanent=True, operation_id=operation_id)
    _record_failure(connection, error)
    raise error


def _deadline_error(*, operation_id: str, last: GhlError | None) -> GhlError:
    """The web request's time for HighLevel ran out: transient, saying what came back last."""
    seen = f" Last answer: {last.message}" if last is not None else ""
    return GhlError(
        f"HighLevel did not answer within this page's {settings.GHL_WEB_DEADLINE_S:g} s; nothing "
        f"more was sent. Try again, or let a job do it.{seen}",
        permanent=False,
        status=last.status if last is not None else None,
        trace_id=last.trace_id if last is not None else "",
        operation_id=operation_id,
        retry_after=last.retry_after if last is not None else None,
    )


def connection_token_refresh(*, connection_id: int, force: bool = False) -> Connection:
    """Refresh a connection's token now (OAuth, or minted from its agency through this door)."""
    return oauth.connection_token_refresh(connection_id=connection_id, force=force, send=_request)


def backoff_delay(*, attempt: int, retry_after: float | None) -> float:
    """Full jitter (AWS architecture blog): uniform(0, min(cap, base * 2**(attempt-1)))."""
    ceiling = min(settings.GHL_BACKOFF_CAP, settings.GHL_BACKOFF_BASE * 2 ** (attempt - 1))
    delay = random.uniform(0, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def retry_after_parse(headers: Mapping[str, str]) -> float | None:
    raw = headers_lower(headers).get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max((when - timezone.now()).total_seconds(), 0.0)


def _message(payload: object, fallback: str, secrets: Iterable[str]) -> str:
    if isinstance(payload, dict):
        message = payload.get("message") or payload.get("error") or fallback
        if isinstance(message, list):
            message = "; ".join(str(m) for m in message)
        return text_mask(str(message), secrets=secrets)[:500]
    return fallback


def _classify(
    result: Attempt, *, operation_id: str, retry_after: float | None, secrets: Iterable[str]
) -> GhlResponse | GhlError:
    """A GhlResponse for a usable answer, else the GhlError it amounts to."""
    if result.error is not None:
        result.error.operation_id = operation_id
        return result.error
    status, body = result.status, result.body
    if status is None:  # http_attempt sets an error or a status, never neither
        return GhlBadResponse("HighLevel gave no answer.", operation_id=operation_id)
    content_type = result.lowered.get("content-type", "")
    payload, parse_error = None, None
    if start := first_byte(body):
        try:
            payload = result.payload()
        except ValueError:
            if "html" in content_type or start == b"<":
                parse_error = "an HTML page instead of JSON"
            elif "json" in content_type:
                parse_error = "truncated or malformed JSON"
    common: dict[str, Any] = dict(
        status=status, trace_id=result.trace_id, operation_id=operation_id
    )
    if 200 <= status < 300:
        if parse_error:
            return GhlBadResponse(f"HighLevel answered with {parse_error}.", **common)
        return GhlResponse(
            status=status, headers=result.headers, data=payload, trace_id=result.trace_id
        )
    message = _message(payload, f"HighLevel answered HTTP {status}", secrets)
    if status == 429:
        return GhlRateLimited(message, retry_after=retry_after, **common)
    if status >= 500 or status == 408:
        return GhlServerError(message, retry_after=retry_after, **common)
    if parse_error:  # an HTML 4xx is a proxy or gateway talking, not HighLevel's API
        return GhlBadResponse(f"HighLevel answered HTTP {status} with {parse_error}.", **common)
    if status == 401:
        if "scope" in message.lower():
            return GhlScopeError(message, **common)
        return GhlTokenExpired(message, **common)
    if status == 403:
        return GhlScopeError(message, **common)
    if status == 404:
        return GhlNotFound(message, **common)
    if status in (400, 422):
        return GhlInvalid(message, **common)
    return GhlError(message, permanent=True, **common)


def _record_success(connection: Connection) -> None:
    now = timezone.now()
    last = connection.last_success_at
    if last is None or (now - last).total_seconds() > 10:  # one write per burst is enough
        Connection.objects.filter(pk=connection.pk).update(last_success_at=now)


def _record_failure(connection: Connection, error: GhlError) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        last_error=str(error)[:2000], last_error_at=timezone.now()
    )
