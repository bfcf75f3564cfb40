"""Connecting from the admin: consent with state + PKCE, the callback, agency → locations.

The pending ``state`` lives only in the user's session and is removed on first use, so a state
from another browser, a forged one or a replayed callback finds nothing and is refused.
"""

import time
from typing import Any

from django.contrib.auth.models import User
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.ghl.client import ghl_request
from integrations.ghl.errors import GhlError
from integrations.ghl.models import Connection, HighLevelApp, LocationMintBatch
from integrations.ghl.oauth import (
    USER_TYPES,
    TokenAnswer,
    code_exchange,
    consent_url_build,
    pkce_pair,
    tokens_apply,
)
from integrations.ghl.retry import operation_retry_safe
from integrations.sync.models import Job
from portal.errors import PortalError
from portal.models import Agency, AuditEvent, Location

SESSION_KEY = "integrations_oauth_pending"
STATE_TTL_SECONDS = 600
INSTALLED_PAGE_SIZE = 100


class ConnectRefused(PortalError):
    """The callback cannot be accepted; the message says why and what to do."""


def oauth_start(
    *,
    session: SessionBase,
    app: HighLevelApp,
    kind: str,
    location: Location | None = None,
    agency: Agency | None = None,
) -> str:
    """Remember a one-time state and PKCE verifier in ``session``; return the consent URL."""
    verifier, challenge = pkce_pair()
    url, state = consent_url_build(app=app, code_challenge=challenge)
    pending = {
        k: v
        for k, v in session.get(SESSION_KEY, {}).items()
        if v["created"] > time.time() - STATE_TTL_SECONDS
    }
    pending[state] = {
        "app_id": app.pk,
        "kind": kind,
        "location_id": location.pk if location else None,
        "agency_id": agency.pk if agency else (location.agency_id if location else None),
        "verifier": verifier,
        "created": time.time(),
    }
    session[SESSION_KEY] = pending
    session.modified = True
    return url


def oauth_finish(
    *,
    session: SessionBase,
    state: str,
    code: str,
    callback_url: str,
    user: User | None,
    error: str = "",
) -> Connection:
    """Check the state and the redirect URL, exchange the code, store the tokens.

    ``error`` (HighLevel's ``error=`` answer) is shown only after the state proved the answer
    belongs to a connection started here: a forged link cannot put its text on the page.
    """
    pending = session.get(SESSION_KEY, {})
    entry = pending.pop(state, None) if state else None
    session[SESSION_KEY] = pending
    session.modified = True
    if entry is None:
        raise ConnectRefused(
            "This sign-in answer does not belong to a connection started here (the state is "
            "unknown, already used or from another browser). Start the connection again."
        )
    if entry["created"] < time.time() - STATE_TTL_SECONDS:
        raise ConnectRefused("The connection attempt expired. Start it again.")
    if error:
        raise ConnectRefused(f"HighLevel reported: {error[:200]}. Nothing was connected.")
    app = HighLevelApp.objects.get(pk=entry["app_id"])
    if callback_url != app.redirect_url:
        raise ConnectRefused(
            f"This callback URL ({callback_url}) is not the app's registered redirect URL "
            f"({app.redirect_url}). Fix the app's redirect URL or open the portal at that address."
        )
    if not code:
        raise ConnectRefused("HighLevel sent no authorisation code. Start the connection again.")
    kind = entry["kind"]
    try:
        payload = code_exchange(app=app, code=code, code_verifier=entry["verifier"], kind=kind)
    except GhlError as exc:
        raise ConnectRefused(f"HighLevel did not accept the sign-in: {exc}") from None
    return _connection_store(app=app, kind=kind, entry=entry, payload=payload, user=user)


@transaction.atomic
def _connection_store(
    *, app: HighLevelApp, kind: str, entry: dict[str, Any], payload: TokenAnswer, user: User | None
) -> Connection:
    # HighLevel's token answer names what it authorises; one that does not cannot be stored.
    needed = ["userType", "companyId" if kind == Connection.Kind.AGENCY else "locationId"]
    missing = [name for name in needed if not payload.get(name)]
    if missing:
        raise ConnectRefused(
            f"HighLevel's token answer lacks {', '.join(missing)}: nothing was "
            "connected. Start the connection again."
        )
    if payload.get("userType") != USER_TYPES[kind]:
        raise ConnectRefused(
            f"HighLevel issued a {payload.get('userType')} token where a "
            f"{USER_TYPES[kind]} token was asked for: nothing was connected."
        )
    company_id = payload.get("companyId") or ""
    if kind == Connection.Kind.AGENCY:
        agency = (
            Agency.objects.filter(pk=entry["agency_id"]).first() if entry["agency_id"] else None
        )
        if agency is None:
            agency = Agency.objects.filter(company_id=company_id).first()
        if agency is None or (company_id and agency.company_id != company_id):
            raise ConnectRefused(
                f"HighLevel connected company {company_id or '(none)'}, which is not the agency "
                "this connection was started for."
            )
        connection = Connection.objects.filter(app=app, agency=agency, location=None).first()
        location = None
    else:
        location = Location.objects.select_related("agency").get(pk=entry["location_id"])
        if payload.get("locationId") and payload["locationId"] != location.location_id:
            raise ConnectRefused(
                f"HighLevel connected location {payload['locationId']}, not "
                f"{location.location_id} ({location.name}). Pick that location on the consent page."
            )
        agency = location.agency
        connection = Connection.objects.filter(app=app, location=location).first()
    if connection is None:
        connection = Connection(app=app, agency=agency, location=location)
    connection.kind = kind
    connection.auth_type = Connection.AuthType.OAUTH
    connection.parent = None
    connection.connected_by = user
    tokens_apply(connection=connection, payload=payload)
    connection.save()
    AuditEvent.objects.create(
        actor=user, action="connection.connect", location=location, target=str(connection)
    )
    return connection


def installed_locations_list(*, connection_id: int) -> list[dict[str, str]]:
    """Every location where the app is installed under the agency connection's company."""
    connection = Connection.objects.select_related("app", "agency").get(pk=connection_id)
    found: list[dict[str, str]] = []
    skip = 0
    while True:
        response = ghl_request(
            connection_id=connection_id,
            method="GET",
            path="/oauth/installedLocations",
            operation_id="get-installed-location",
            params={
                "companyId": connection.agency.company_id,
                "appId": connection.app.marketplace_app_id,
                "isInstalled": "true",
                "skip": str(skip),
                "limit": str(INSTALLED_PAGE_SIZE),
            },
        )
        page = (response.data or {}).get("locations") or []
        found.extend(
            {
                "id": loc["_id"],
                "name": loc.get("name") or loc["_id"],
                "address": loc.get("address") or "",
            }
            for loc in page
        )
        skip += len(page)
        total = (response.data or {}).get("count")
        if not page or len(page) < INSTALLED_PAGE_SIZE or (total is not None and skip >= total):
            return found


def mint_batch_create(
    *, connection_id: int, locations: list[dict[str, Any]], user: User | None
) -> LocationMintBatch:
    """Queue minting location tokens for ``locations`` ([{id, name}]) as one "mint" job: the
    worker does the calls under the job's attempts, heartbeat lease and fence."""
    from integrations.sync.jobs import job_enqueue

    batch = LocationMintBatch.objects.create(
        agency_connection_id=connection_id,
        requested=[
            {"id": loc["id"], "name": loc.get("name", ""), "replace": bool(loc.get("replace"))}
            for loc in locations
        ],
        total=len(locations),
        requested_by=user,
    )
    job = job_enqueue(
        kind=Job.Kind.MINT,
        idempotency_key=f"mint-batch:{batch.pk}",
        connection_id=connection_id,
        operation="POST /oauth/locationToken",
        subject=f"batch {batch.pk}",
        params={"batch_id": batch.pk},
        user_id=getattr(user, "pk", None),
    )
    if job.status == Job.Status.FAILED:  # the agency connection needs re-auth: nothing was sent
        LocationMintBatch.objects.filter(pk=batch.pk).update(
            status=LocationMintBatch.Status.FAILED,
            finished_at=timezone.now(),
            errors=[{"id": "", "name": "", "error": job.error_message}],
        )
    return batch


def mint_batch_job_run(job: Job) -> dict[str, int]:
    """JOB_HANDLERS "mint"."""
    batch = mint_batch_run(batch_id=job.params["batch_id"], job=job)
    return {"connected": batch.done, "failed": batch.failed}


def mint_batch_run(*, batch_id: int, job: Job | None = None) -> LocationMintBatch:
    """Mint a location token for each requested location, recording progress as it goes.

    Progress (the counters) moves one location at a time, fenced by the job's lease when run as
    a job: a run taken up after its worker died resumes after the last location counted (minting
    one again is harmless: it updates the same connection), and a worker that lost its lease
    counts nothing more.
    """
    from integrations.sync.job_runs import job_fence

    def fenced() -> None:
        if job is not None:
            job_fence(job=job)

    batch = LocationMintBatch.objects.select_related("agency_connection__agency").get(pk=batch_id)
    agency_connection = batch.agency_connection
    with transaction.atomic():
        fenced()
        LocationMintBatch.objects.filter(pk=batch_id).update(
            status=LocationMintBatch.Status.RUNNING
        )
    stop_reason = ""
    for item in batch.requested[batch.done + batch.failed :]:
        error = stop_reason
        if not stop_reason:
            try:
                location_mint(
                    agency_connection=agency_connection,
                    hl_location_id=item["id"],
                    name=item.get("name") or item["id"],
                    user=batch.requested_by,
                    replace=bool(item.get("replace")),
                )
            except AlreadyConnected as exc:
                error = str(exc)
            except GhlError as exc:
                error = str(exc)[:300]
                if exc.permanent and exc.status in (None, 401, 403):
                    # The agency connection itself is unusable: stop, say why for the rest.
                    stop_reason = f"Not attempted: the agency connection failed ({error})"
        with transaction.atomic():
            fenced()
            if error:
                batch.errors.append(
                    {"id": item["id"], "name": item.get("name", ""), "error": error}
                )
                LocationMintBatch.objects.filter(pk=batch_id).update(
                    failed=F("failed") + 1, errors=batch.errors
                )
            else:
                LocationMintBatch.objects.filter(pk=batch_id).update(done=F("done") + 1)
    batch.refresh_from_db()
    batch.status = (
        LocationMintBatch.Status.DONE if not batch.failed else LocationMintBatch.Status.FAILED
    )
    batch.finished_at = timezone.now()
    with transaction.atomic():
        fenced()
        batch.save(update_fields=["status", "finished_at"])
    return batch


class AlreadyConnected(PortalError):
    """The location already has a live connection of this app and replacing it was not asked for.

    Permanent for this request: connect again with *Replace* ticked to replace it.
    """


def _live_connection(*, app_id: int, hl_location_id: str) -> Connection | None:
    return (
        Connection.objects.filter(app_id=app_id, location__location_id=hl_location_id)
        .exclude(status=Connection.Status.DISCONNECTED)
        .select_related("connected_by")
        .first()
    )


def location_mint(
    *,
    agency_connection: Connection,
    hl_location_id: str,
    name: str,
    user: User | None = None,
    replace: bool = False,
) -> Connection:
    """Mint one location token from the agency connection and store it as a location connection.

    A live connection of the same app to that location (e.g. staff's own OAuth one) is kept, and
    nothing is minted, unless ``replace`` is true.
    """
    if not replace:
        _kept_check(app_id=agency_connection.app_id, hl_location_id=hl_location_id)
    response = ghl_request(
        connection_id=agency_connection.pk,
        method="POST",
        path="/oauth/locationToken",
        operation_id="get-location-access-token",
        retry_safe=operation_retry_safe(method="POST", path="/oauth/locationToken"),
        data={"companyId": agency_connection.agency.company_id, "locationId": hl_location_id},
    )
    payload = response.data if isinstance(response.data, dict) else {}
    if not payload.get("access_token"):
        raise GhlError(
            "HighLevel minted no location token.",
            status=response.status,
            permanent=True,
            trace_id=response.trace_id,
        )
    with transaction.atomic():
        location, _ = Location.objects.get_or_create(
            location_id=hl_location_id,
            defaults={"agency": agency_connection.agency, "name": name[:200]},
        )
        connection = (
            Connection.objects.select_for_update()
            .filter(app_id=agency_connection.app_id, location=location)
            .first()
        )
        if connection is None:
            connection = Connection(
                app_id=agency_connection.app_id, location=location, agency=location.agency
            )
        elif not replace and connection.status != Connection.Status.DISCONNECTED:
            _kept_check(app_id=agency_connection.app_id, hl_location_id=hl_location_id)
        connection.kind = Connection.Kind.LOCATION
        connection.auth_type = Connection.AuthType.AGENCY_MINTED
        connection.parent = agency_connection
        connection.connected_by = user
        connection.refresh_token_encrypted = ""
        tokens_apply(connection=connection, payload=payload)
        connection.save()
        AuditEvent.objects.create(
            actor=user,
            action="connection.connect",
            location=location,
            target=str(connection),
            detail={"minted_by": agency_connection.pk},
        )
    return connection


def _kept_check(*, app_id: int, hl_location_id: str) -> None:
    existing = _live_connection(app_id=app_id, hl_location_id=hl_location_id)
    if existing is not None:
        who = existing.connected_by.get_username() if existing.connected_by else "someone"
        raise AlreadyConnected(
            f"Kept the existing connection ({existing.get_auth_type_display()}, connected by {who}); "
            "tick Replace to replace it."
        )
