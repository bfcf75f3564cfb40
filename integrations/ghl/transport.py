"""The only place that imports ``requests`` for HighLevel: one attempt, timed and logged.

Every attempt (API calls and token exchanges alike) writes one :class:`SyncLog` row: always its
metadata (operation, path stripped of secrets, status, duration, attempt, trace id, record ids,
request and response sizes, error); the bodies, as redacted, size-capped summaries with secrets
and personal data masked, only for a failure and for a random share ``SYNC_LOG_BODY_SAMPLE`` of
successes. A success not sampled is never parsed or redacted: the cheap path.
"""

import json as jsonlib
import random
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from django.conf import settings
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import NewConnectionError

from integrations.ghl.errors import GhlNetworkError
from integrations.ghl.headers import LowerHeaders, headers_lower
from integrations.ghl.statements import row_insert
from integrations.ghl.uploads import UploadFile, files_parts, files_summary
from portal.logs import log_trace_set
from portal.redact import path_redact, summary_make, text_mask, text_redact

TRACE_HEADERS = ("x-trace-id", "traceid", "x-request-id", "x-amzn-trace-id")

_local = threading.local()


def run_attempt_set(attempt_id: int | None) -> None:
    """Name the job attempt this thread's calls belong to (their sync-log rows link to it)."""
    _local.attempt_id = attempt_id


def _session() -> requests.Session:
    """This thread's keep-alive session. It does not read the environment itself (requests would
    walk every environment variable on each request): :func:`_environment` reads it once."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False
    return session


# What a requests Session adds to every request (User-Agent, Accept-Encoding, Connection).
_BASE_HEADERS: dict[str, str] = dict(requests.utils.default_headers())


def _adapter(origin: str, url: str) -> BaseAdapter:
    """This thread's session's adapter for ``origin`` (its keep-alive connection pool)."""
    adapters: dict[str, BaseAdapter] = _local.__dict__.setdefault("adapters", {})
    found = adapters.get(origin)
    if found is None:
        found = adapters[origin] = _session().get_adapter(url)
    return found


def _send(
    *,
    method: str,
    url: str,
    origin: str,
    environment: Mapping[str, Any],
    headers: Mapping[str, str],
    params: Mapping[str, Any] | None,
    json: Any,
    data: Any,
    files: Any,
    timeout: tuple[float, float],
) -> requests.Response:
    """Prepare and send one request straight through the session's adapter.

    What ``Session.request`` would do, less what the door never uses: no session cookies (an
    API called with a bearer token; a cookie HighLevel sets is not sent back to the next
    location's calls either), no ``.netrc`` or URL auth (the bearer header is the auth), no
    hooks, no redirects (never followed). Its per-request merging of session settings cost
    more CPU than the rest of the send.
    """
    prepared = requests.PreparedRequest()
    prepared.prepare_method(method)
    prepared.prepare_url(url, params or {})
    prepared.prepare_headers({**_BASE_HEADERS, **headers})
    prepared.prepare_body(data or {}, files, json)
    return _adapter(origin, url).send(prepared, timeout=timeout, **environment)


def _environment(origin: str) -> dict[str, Any]:
    """The proxies and CA bundle the environment gives this origin (``HTTPS_PROXY``,
    ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``...), read as requests reads them, once per thread and
    origin. ``.netrc`` is not consulted: its basic auth would replace the bearer token."""
    known: dict[str, dict[str, Any]] = _local.__dict__.setdefault("environment", {})
    found = known.get(origin)
    if found is None:
        with requests.Session() as reader:
            found = dict(reader.merge_environment_settings(origin, {}, None, None, None))
        known[origin] = found
    return found


@dataclass
class LogContext:
    connection_id: int | None = None
    location_id: int | None = None
    operation_id: str = ""
    job_id: int | None = None
    secrets: tuple[str, ...] = ()
    record_ids: tuple[str, ...] = ()


_UNPARSED: Any = object()


@dataclass
class Attempt:
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    duration_ms: int = 0
    trace_id: str = ""
    error: GhlNetworkError | None = None
    lowered: LowerHeaders = field(default_factory=LowerHeaders)  # headers by lower-case name
    _payload: Any = field(default=_UNPARSED, repr=False, compare=False)

    def payload(self) -> Any:
        """The body parsed as JSON, parsed once for everyone who reads it; raises ValueError
        when it is not JSON."""
        if self._payload is _UNPARSED:
            try:
                self._payload = jsonlib.loads(self.body)
            except ValueError as exc:
                self._payload = exc
        if isinstance(self._payload, ValueError):
            raise ValueError(str(self._payload))
        return self._payload


_LEADING = re.compile(rb"\s*(.?)", re.DOTALL)


def first_byte(body: bytes) -> bytes:
    """The body's first byte after leading whitespace (b"" for a blank body), found without
    copying the body as ``body.strip()`` would."""
    found = _LEADING.match(body)
    return found[1] if found else b""


def trace_id_find(*, headers: Mapping[str, str], attempt: Attempt) -> str:
    lowered = headers_lower(headers)
    for name in TRACE_HEADERS:
        if value := lowered.get(name):
            return value[:100]
    if attempt.body[:1] == b"{":
        try:
            parsed = attempt.payload()
        except ValueError:
            return ""
        trace_id = parsed.get("traceId") if isinstance(parsed, dict) else None
        if isinstance(trace_id, str):
            return trace_id[:100]
    return ""


def bodies_kept(*, status: int | None, failed: bool, body: bytes = b"") -> bool:
    """Keep this attempt's bodies? Always for a failure (no answer, or an HTTP error status);
    for a success, with probability ``SYNC_LOG_BODY_SAMPLE``."""
    if failed or status is None or status >= 300:
        return True
    if body and first_byte(body) not in (b"{", b"["):
        return True  # a success that is no JSON (an HTML page, a cut-off answer): a failure
    share = float(settings.SYNC_LOG_BODY_SAMPLE)
    return share > 0 and (share >= 1 or random.random() < share)


def _sent_bytes(*, prepared: requests.PreparedRequest | None, sent: object) -> int:
    """The request body's size: the bytes requests sent when there was an answer, else the
    body as the log would show it."""
    body = prepared.body if prepared is not None else None
    if body is None and sent is not None:
        body = sent if isinstance(sent, (bytes, str)) else jsonlib.dumps(sent, default=str)
    if body is None:
        return 0
    if isinstance(body, str):
        return len(body.encode("utf-8", errors="replace"))
    if isinstance(body, bytes):
        return len(body)
    return 0  # a streamed body (an upload): its parts are logged by name and size


def _never_connected(exc: Exception) -> bool:
    """True when the connection was refused or never made: the request cannot have been read."""
    seen: set[int] = set()
    cause: Any = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, (NewConnectionError, ConnectionRefusedError)):
            return True
        cause = (
            getattr(cause, "reason", None)
            or cause.__cause__
            or cause.__context__
            or (cause.args[0] if cause.args and isinstance(cause.args[0], Exception) else None)
        )
    return False


def _timeouts(cap: float | None) -> tuple[float, float]:
    connect, read = float(settings.GHL_CONNECT_TIMEOUT), float(settings.GHL_READ_TIMEOUT)
    if cap is None:
        return connect, read
    cap = max(cap, 0.1)
    return min(connect, cap), min(read, cap)


def http_attempt(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    data: Any = None,
    attempt: int,
    log: LogContext,
    path: str = "",
    files: dict[str, UploadFile] | None = None,
    timeout_cap: float | None = None,
) -> Attempt:
    """Send one request; never raises for HTTP statuses, returns network failures in ``error``.

    With ``files`` the body is multipart/form-data: ``data`` as fields, each file as a part.
    ``timeout_cap`` (seconds left under a web request's deadline) shortens both timeouts.
    """
    from integrations.ghl.models import SyncLog

    split = urlsplit(url)
    origin = f"{split.scheme}://{split.netloc}"
    path = path or split.path + (f"?{split.query}" if split.query else "")
    if params:
        path += ("&" if "?" in path else "?") + urlencode(params, doseq=True)
    started = time.monotonic()
    result = Attempt(status=None)
    prepared: requests.PreparedRequest | None = None
    try:
        response = _send(
            method=method.upper(),
            url=url,
            origin=origin,
            environment=_environment(origin),
            headers=headers,
            params=params,
            json=json,
            data=data,
            files=files_parts(files),
            timeout=_timeouts(timeout_cap),
        )
        body = response.content  # reads the whole body: a cut-off stream raises here
        result.status = response.status_code
        result.headers = dict(response.headers)
        result.lowered = headers_lower(result.headers)
        result.body = body
        result.trace_id = trace_id_find(headers=result.lowered, attempt=result)
        log_trace_set(result.trace_id)  # the lines logged after it name HighLevel's trace
        prepared = response.request
    except requests.ConnectTimeout as exc:
        result.error = GhlNetworkError(f"Timed out connecting ({type(exc).__name__}).", sent=False)
    except requests.Timeout as exc:
        result.error = GhlNetworkError(f"Timed out ({type(exc).__name__}).")
    except requests.ConnectionError as exc:
        result.error = GhlNetworkError(
            f"Connection failed ({type(exc).__name__}).", sent=not _never_connected(exc)
        )
    except (
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ContentDecodingError,
    ) as exc:
        result.error = GhlNetworkError(f"Connection failed ({type(exc).__name__}).")
    except requests.RequestException as exc:
        # A request that cannot be sent as built (a header value with a line break: a pasted
        # token). requests quotes the offending value, which may be the token: never repeat it.
        result.error = GhlNetworkError(
            f"The request could not be sent ({type(exc).__name__}: "
            f"{text_mask(str(exc), secrets=log.secrets)[:300]}). Check the connection's token.",
            permanent=True,
        )
    result.duration_ms = int((time.monotonic() - started) * 1000)

    sent = json if json is not None else data
    keep = bodies_kept(status=result.status, failed=result.error is not None, body=result.body)
    if keep and files:  # files are logged by name, size and type, never their bytes
        sent = {**(sent or {}), **files_summary(files)}
    log_row = dict(
        connection_id=log.connection_id,
        location_id=log.location_id,
        operation_id=log.operation_id[:120],
        method=method.upper(),
        path=text_redact(path_redact(path, personal=True), secrets=log.secrets)[:1000],
        status=result.status,
        error=(str(result.error) if result.error else "")[:500],
        duration_ms=result.duration_ms,
        attempt=attempt,
        trace_id=result.trace_id,
        job_id=log.job_id,
        job_attempt_id=getattr(_local, "attempt_id", None) if log.job_id else None,
        record_ids=",".join(log.record_ids)[:300],
        request_bytes=_sent_bytes(prepared=prepared, sent=json if json is not None else data),
        response_bytes=len(result.body),
        request_summary=(
            summary_make(body=sent, secrets=log.secrets, personal=True) if keep else ""
        ),
        response_summary=(
            summary_make(body=result.body, secrets=log.secrets, personal=True) if keep else ""
        ),
    )
    row_insert(model=SyncLog, values=log_row)  # one INSERT built once, no model instance
    return result


class DoorAdapter(BaseAdapter):
    """requests' transport adapter that sends through :func:`http_attempt` (OAuth2Session's).

    The door's transport sets the timeouts and writes the redacted sync-log row; a network failure
    comes back as the door's GhlNetworkError. Sent once: a grant is single-use, never retried
    blindly.
    """

    def __init__(self, log: LogContext) -> None:
        super().__init__()
        self.log = log
        self.last: Attempt | None = None

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: object = None,
        verify: object = True,
        cert: object = None,
        proxies: object = None,
    ) -> requests.Response:
        data: object = request.body
        content_type = request.headers.get("Content-Type", "")
        if isinstance(data, str) and content_type.startswith("application/x-www-form-urlencoded"):
            data = dict(parse_qsl(data, keep_blank_values=True))  # logged field by field, as a form
        result = http_attempt(
            method=request.method or "POST",
            url=request.url or "",
            headers=dict(request.headers),
            data=data,
            attempt=1,
            log=self.log,
        )
        if result.error is not None:
            raise result.error
        self.last = result
        response = requests.Response()
        response.status_code = result.status or 0
        response.headers = CaseInsensitiveDict(result.headers)
        response._content = result.body
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass
