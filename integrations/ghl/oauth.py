"""OAuth with HighLevel: consent URL with PKCE, code exchange, and refresh that never burns a token.

HighLevel refresh tokens are single-use (specs/highlevel/docs/oauth/Authorization.md). Two
workers refreshing the same connection would leave one of them with a dead token, so refresh
happens only under the connection's row lock, in a durable transaction, and re-reads the token
after the lock: the worker that lost the race uses the winner's token. The transaction commits
right after the exchange, so a crash cannot lose the new pair once HighLevel has issued it.
On SQLite a per-connection file lock takes the row lock's place (see :func:`refresh_lock`).

The protocol steps (consent URL with state and PKCE, code exchange, refresh) are requests-oauthlib's
``OAuth2Session``; its HTTP goes through the door's transport (:class:`_DoorAdapter`: timeouts,
one redacted sync-log row per attempt), and HighLevel's answer is judged before oauthlib parses it.
Its auto-refresh stays off: it has no lock. Its loggers are held at WARNING (settings.LOGGING): at
DEBUG they print request bodies and tokens.
"""

import base64
import fcntl
import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string
from oauthlib.oauth2 import WebApplicationClient
from requests_oauthlib import OAuth2Session

from integrations.ghl.errors import GhlBadResponse, GhlError, GhlNotConnected, GhlReauthRequired
from integrations.ghl.models import Connection, HighLevelApp
from integrations.ghl.transport import Attempt, DoorAdapter, LogContext
from portal.redact import connection_secrets

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from requests import Response

USER_TYPES: dict[str, str] = {
    Connection.Kind.LOCATION: "Location",
    Connection.Kind.AGENCY: "Company",
}

TokenAnswer = dict[str, Any]  # the token endpoint's JSON object
# The door without its own refresh (``integrations.ghl.client._request``), which mints a location
# token from its agency connection; passed in so this module never imports the door.
Send = Callable[..., Any]


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) as RFC 7636 describes."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _oauth_session(
    *, app: HighLevelApp, log: LogContext, scope: list[str] | None = None
) -> OAuth2Session:
    """An OAuth2Session for ``app`` whose HTTP goes through the door; auto-refresh off."""
    session = OAuth2Session(
        client=WebApplicationClient(app.client_id), redirect_uri=app.redirect_url, scope=scope
    )
    adapter = DoorAdapter(log)
    session.mount("https://", adapter)
    session.mount("http://", adapter)  # the sandbox (oauthlib refuses plain HTTP outside it)

    def judged(response: "Response") -> "Response":
        # Before oauthlib parses the answer (it would guess at an HTML page or a cut-off body):
        # the door's errors, as for every HighLevel answer.
        if adapter.last is None:  # send() always runs first
            raise GhlBadResponse("The token endpoint gave no answer.")
        _token_answer_check(adapter.last)
        return response

    session.register_compliance_hook("access_token_response", judged)
    session.register_compliance_hook("refresh_token_response", judged)
    return session


def consent_url_build(*, app: HighLevelApp, code_challenge: str) -> tuple[str, str]:
    """(the consent page URL, its new one-time ``state``), PKCE with S256."""
    session = _oauth_session(app=app, log=LogContext(), scope=sorted(app.scope_set))
    url, state = session.authorization_url(
        app.consent_url, code_challenge=code_challenge, code_challenge_method="S256"
    )
    return str(url), str(state)


def _token_log(
    *, app: HighLevelApp, connection: Connection | None, secrets: tuple[str | None, ...]
) -> LogContext:
    return LogContext(
        connection_id=connection.pk if connection else None,
        location_id=connection.location_id if connection else None,
        operation_id="get-access-token",
        secrets=tuple(
            s for s in (app.client_secret, *secrets, *connection_secrets(connection)) if s
        ),
    )


def _token_answer_check(result: Attempt) -> None:
    """Raise the door's error unless ``result`` is HighLevel's token answer."""
    try:
        payload = json.loads(result.body) if result.body else {}
    except ValueError:
        raise GhlBadResponse(
            "The token endpoint answered with something that is not JSON.",
            status=result.status,
            trace_id=result.trace_id,
        ) from None
    if result.status == 200 and isinstance(payload, dict) and payload.get("access_token"):
        return
    error = payload.get("error", "") if isinstance(payload, dict) else ""
    message = (
        payload.get("error_description") or payload.get("message")
        if isinstance(payload, dict)
        else ""
    )
    if error == "invalid_grant":
        raise GhlReauthRequired(
            "HighLevel refused the grant (invalid_grant): the authorisation was revoked or "
            "already used. Connect again.",
            status=result.status,
            trace_id=result.trace_id,
        )
    raise GhlError(
        f"The token endpoint refused the request: {error or 'error'} {message or ''}".strip(),
        status=result.status,
        permanent=bool(result.status and 400 <= result.status < 500),
        trace_id=result.trace_id,
    )


def _token(token: dict[str, Any]) -> TokenAnswer:
    """oauthlib's token (scope split into a list, expires_at added) as HighLevel's answer."""
    answer = dict(token)
    if isinstance(answer.get("scope"), list):
        answer["scope"] = " ".join(answer["scope"])
    return answer


def tokens_apply(*, connection: Connection, payload: TokenAnswer) -> None:
    """Copy a token answer onto ``connection`` (in memory; the caller saves)."""
    now = timezone.now()
    connection.access_token = payload["access_token"]
    if payload.get("refresh_token"):
        connection.refresh_token = payload["refresh_token"]
    if payload.get("expires_in"):
        connection.token_expires_at = now + timedelta(seconds=int(payload["expires_in"]))
    if payload.get("scope"):
        connection.scopes = " ".join(sorted(set(payload["scope"].replace(",", " ").split())))
        # Scopes a plan waited for that are granted now need no re-consent any more.
        granted = connection.scope_set
        connection.reconsent_scopes = " ".join(
            s for s in connection.reconsent_scopes.split() if s not in granted
        )
    if payload.get("userId"):
        connection.highlevel_user_id = str(payload["userId"])[:64]
    connection.token_refreshed_at = now
    connection.status = Connection.Status.ACTIVE
    connection.last_error = ""


def code_exchange(*, app: HighLevelApp, code: str, code_verifier: str, kind: str) -> TokenAnswer:
    """Exchange the consent's code (once) for the connection's first token pair."""
    log = _token_log(app=app, connection=None, secrets=(code, code_verifier))
    session = _oauth_session(app=app, log=log)
    return _token(
        session.fetch_token(
            app.token_url,
            code=code,
            code_verifier=code_verifier,
            client_secret=app.client_secret,
            include_client_id=True,
            user_type=USER_TYPES[kind],
        )
    )


def _needs_refresh(connection: Connection) -> bool:
    if connection.auth_type == Connection.AuthType.PRIVATE or connection.token_expires_at is None:
        return False
    margin = timedelta(seconds=settings.GHL_TOKEN_REFRESH_MARGIN)
    return connection.token_expires_at <= timezone.now() + margin


def connection_token_ensure(*, connection: Connection, send: Send | None = None) -> str:
    """The access token to use now, refreshed first if it expires within the margin.

    ``send``: the door without its own refresh, which mints an agency-minted location token
    (the door passes it; elsewhere use ``integrations.ghl.client.connection_token_refresh``).
    """
    if _needs_refresh(connection):
        connection = connection_token_refresh(connection_id=connection.pk, send=send)
    return connection.access_token


def connection_token_refresh(
    *,
    connection_id: int,
    seen_access_token: str | None = None,
    force: bool = False,
    send: Send | None = None,
) -> Connection:
    """Refresh a connection's token unless someone else just did; returns the fresh row.

    ``seen_access_token``: the token the caller was using when it decided to refresh (a 401).
    If the row holds a different one after the lock, another worker won: use theirs.
    Without it, refresh only when the token is inside the margin (or ``force``).
    """
    if seen_access_token is None and not force:
        current = Connection.objects.get(pk=connection_id)
        if not _needs_refresh(current):
            return current
    parent_id = (
        Connection.objects.filter(pk=connection_id).values_list("parent_id", "auth_type").first()
    )
    if parent_id and parent_id[1] == Connection.AuthType.AGENCY_MINTED and parent_id[0]:
        # The agency token is needed under our lock: make sure it is fresh before taking it.
        parent = Connection.objects.select_related("app").get(pk=parent_id[0])
        connection_token_ensure(connection=parent)

    failure: GhlError | None = None
    with refresh_lock(connection_id=connection_id) as locked:
        connection = locked.select_related("app", "location", "agency").get(pk=connection_id)
        if connection.status != Connection.Status.ACTIVE:
            failure = GhlNotConnected(
                f"The connection is {connection.get_status_display().lower()}; connect again."
            )
        elif seen_access_token is not None and connection.access_token != seen_access_token:
            return connection  # the winner refreshed while we waited for the lock
        elif seen_access_token is None and not force and not _needs_refresh(connection):
            return connection
        elif connection.auth_type == Connection.AuthType.PRIVATE:
            failure = GhlReauthRequired(
                "The private integration token was refused; paste a new one.", permanent=True
            )
            _mark_needs_reauth(connection, failure)
        else:
            payload: TokenAnswer | None = None
            try:
                payload = _exchange(connection, send=send)
            except GhlReauthRequired as exc:
                payload = _mint_from_agency(connection, send=send)
                if payload is None:
                    _mark_needs_reauth(connection, exc)
                    failure = exc
            except GhlError as exc:
                connection.last_error = f"Token refresh failed: {exc}"[:2000]
                connection.last_error_at = timezone.now()
                connection.save(update_fields=["last_error", "last_error_at", "updated_at"])
                failure = exc
            if payload is not None:
                tokens_apply(connection=connection, payload=payload)
                connection.save()
    if failure is not None:
        raise failure
    return connection


@contextmanager
def refresh_lock(*, connection_id: int) -> Iterator[QuerySet[Connection]]:
    """Hold the connection's refresh lock; yields the queryset to re-read the row with.

    PostgreSQL: the row lock (``select_for_update``) in a durable transaction that commits right
    after the exchange. SQLite has no row locks and its write lock covers the whole file, so
    holding a transaction across the HTTP exchange would block every other writer, the sandbox
    sharing the file included (a deadlock until the busy timeout). There an exclusive file lock
    per connection (``flock``: separate per open, so threads and processes both queue) guards the
    read-exchange-save, and each write commits on its own.
    """
    db = transaction.get_connection()
    if db.vendor != "sqlite":
        with transaction.atomic(durable=True):
            yield Connection.objects.select_for_update(of=("self",))
        return
    if db.atomic_blocks and not db.atomic_blocks[-1]._from_testcase:  # as atomic(durable=True)
        raise RuntimeError("A token refresh cannot run inside another transaction.")
    lock_dir = Path(db.settings_dict["NAME"]).resolve().parent / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"connection-{connection_id}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield Connection.objects.all()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _mint_from_agency(connection: Connection, *, send: Send | None) -> TokenAnswer | None:
    """A location token minted from a still-valid agency connection (same app, same agency) for
    a location whose own grant HighLevel refused: a refresh token already spent (the database
    was restored from a backup: HighLevel's refresh tokens are single-use) or revoked. The
    connection becomes agency-minted and goes on. None where it cannot (no agency connection,
    or the mint refused too): the caller flags it for re-consent."""
    if (
        send is None
        or connection.auth_type != Connection.AuthType.OAUTH
        or connection.kind != Connection.Kind.LOCATION
        or connection.location_id is None
    ):
        return None
    agency = (
        Connection.objects.filter(
            app_id=connection.app_id,
            agency_id=connection.agency_id,
            kind=Connection.Kind.AGENCY,
            status=Connection.Status.ACTIVE,
        )
        .order_by("-token_refreshed_at", "-pk")
        .first()
    )
    if agency is None:
        return None
    before = (connection.auth_type, connection.parent_id, connection.refresh_token)
    connection.auth_type = Connection.AuthType.AGENCY_MINTED
    connection.parent = agency
    try:
        payload = _exchange(connection, send=send)
    except GhlError:
        connection.auth_type, connection.parent_id, connection.refresh_token = before
        return None
    connection.refresh_token = ""  # the spent one; a minted token is renewed from the agency
    logger.warning(
        "Connection %s: HighLevel refused its own grant; minted from agency connection %s.",
        connection.pk,
        agency.pk,
    )
    return payload


def _exchange(connection: Connection, *, send: Send | None) -> TokenAnswer:
    if connection.auth_type == Connection.AuthType.AGENCY_MINTED:
        if connection.parent_id is None:
            raise GhlReauthRequired(
                "This location token has no agency connection to renew it from."
            )
        if send is None:
            raise RuntimeError(
                "A location token is minted through the door: use "
                "integrations.ghl.client.connection_token_refresh."
            )
        response = send(
            connection_id=connection.parent_id,
            method="POST",
            path="/oauth/locationToken",
            operation_id="get-location-access-token",
            data={
                "companyId": connection.agency.company_id,
                "locationId": connection.location.location_id if connection.location else "",
            },
            allow_refresh=False,
        )
        if not isinstance(response.data, dict) or not response.data.get("access_token"):
            raise GhlBadResponse("HighLevel minted no location token.", status=response.status)
        return response.data
    refresh_token = connection.refresh_token
    if not refresh_token:
        raise GhlReauthRequired("No refresh token is stored for this connection.")
    app = connection.app
    log = _token_log(app=app, connection=connection, secrets=(refresh_token,))
    session = _oauth_session(app=app, log=log)
    return _token(
        session.refresh_token(
            app.token_url,
            refresh_token=refresh_token,
            client_id=app.client_id,
            client_secret=app.client_secret,
            user_type=USER_TYPES[connection.kind],
        )
    )


def _mark_needs_reauth(connection: Connection, exc: GhlError) -> None:
    """Mark the connection needs re-auth and, in the same transaction, hand it to the sync's
    handler (``GHL_NEEDS_REAUTH_HANDLER``: it fails the connection's queued jobs and alerts). The door names
    no job: it only announces the transition."""
    connection.status = Connection.Status.NEEDS_REAUTH
    connection.last_error = (
        f"{exc.message} Open the connection and use Connect again ({timezone.now():%Y-%m-%d %H:%M} UTC)."
    )[:2000]
    connection.last_error_at = timezone.now()
    with transaction.atomic():
        connection.save(update_fields=["status", "last_error", "last_error_at", "updated_at"])
        import_string(settings.GHL_NEEDS_REAUTH_HANDLER)(connection=connection, reason=exc.message)
