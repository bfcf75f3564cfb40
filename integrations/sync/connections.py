"""Test, refresh, disconnect and private tokens: what the admin's connection actions do."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from integrations.ghl.client import connection_token_refresh, ghl_request
from integrations.ghl.errors import GhlError
from integrations.ghl.models import Connection, HighLevelApp
from integrations.sync.models import Job
from portal.models import AuditEvent
from portal.scoping import agencies_for_user, locations_for_user, user_sees_all_locations


@dataclass
class ConnectionTestReport:
    ok: bool
    message: str
    latency_ms: int = 0
    rate_remaining: str = ""
    daily_remaining: str = ""
    missing_scopes: list[str] = field(default_factory=list)


def _mapped_operations(connection: Connection) -> set[str]:
    """Operations the flows (mappings) of the connection's locations use.

    A location connection serves its location's flows; an agency connection serves the flows of
    its agency's locations that need an agency token.
    """
    from django.apps import apps

    from integrations.catalog.registry import AGENCY, registry

    Mapping = apps.get_model("mappings", "Mapping")
    if connection.location_id:
        mappings = Mapping.objects.filter(location_id=connection.location_id)
    else:
        mappings = Mapping.objects.filter(location__agency_id=connection.agency_id)
    keys: set[str] = set(mappings.exclude(operation_key="").values_list("operation_key", flat=True))
    if not connection.location_id:
        operations = registry()
        keys = {k for k in keys if k in operations and operations[k].access == AGENCY}
    return keys


def _polled_operations(connection: Connection) -> set[str]:
    """Operations the enabled polling subscriptions run through this connection."""
    from integrations.sync.models import Subscription

    return set(
        Subscription.objects.filter(connection=connection, enabled=True)
        .exclude(operation="")
        .values_list("operation", flat=True)
    )


# Where the operations a connection must be able to run come from: callables(connection) ->
# operation keys.
REQUIRED_OPERATION_SOURCES: tuple[Callable[[Connection], set[str]], ...] = (
    _mapped_operations,
    _polled_operations,
)


def connection_required_operations(*, connection: Connection) -> dict[str, tuple[str, ...]]:
    """{operation key: its scopes} for every enabled flow, trigger or action of ``connection``."""
    from integrations.catalog.registry import registry

    operations = registry()
    keys: set[str] = set().union(*(source(connection) for source in REQUIRED_OPERATION_SOURCES))
    return {key: operations[key].scopes for key in sorted(keys) if key in operations}


def connection_required_scopes(*, connection: Connection) -> set[str]:
    """Scopes the enabled triggers and actions need (the catalog knows each operation's)."""
    needed = connection_required_operations(connection=connection).values()
    return set().union(*needed) if needed else set()


def connection_missing_scopes(*, connection: Connection) -> list[str]:
    """Each missing scope with the operations that need it: "contacts.write (POST /contacts/)"."""
    granted = connection.scope_set
    needers: dict[str, list[str]] = {}
    for key, scopes in connection_required_operations(connection=connection).items():
        if set(scopes) & granted:  # the catalog's union of spec and Scopes.md: any one suffices
            continue
        for scope in scopes:
            needers.setdefault(scope, []).append(key)
    return [f"{scope} ({', '.join(keys)})" for scope, keys in sorted(needers.items())]


def connection_test(*, connection_id: int) -> ConnectionTestReport:
    """One cheap call: latency, rate-limit headroom and missing scopes."""
    connection = Connection.objects.select_related("app", "location", "agency").get(
        pk=connection_id
    )
    params: dict[str, str] | None = None
    if connection.location is not None:
        path, operation = (
            f"/locations/{quote(connection.location.location_id, safe='')}",
            "get-location",
        )
    else:
        path, operation = "/oauth/installedLocations", "get-installed-location"
        params = {
            "companyId": connection.agency.company_id,
            "appId": connection.app.marketplace_app_id,
            "limit": "1",
        }
    missing = connection_missing_scopes(connection=connection)
    if connection.auth_type == Connection.AuthType.PRIVATE:
        missing = []  # private tokens carry no scope list we can read
    try:
        response = ghl_request(
            connection_id=connection.pk,
            method="GET",
            path=path,
            operation_id=operation,
            params=params,
        )
    except GhlError as exc:
        return ConnectionTestReport(ok=False, message=str(exc), missing_scopes=missing)
    headers = {k.lower(): v for k, v in response.headers.items()}
    report = ConnectionTestReport(
        ok=not missing,
        message="Connected." if not missing else "Connected, but scopes are missing.",
        latency_ms=response.duration_ms,
        rate_remaining=f"{headers.get('x-ratelimit-remaining', '?')} of {headers.get('x-ratelimit-max', '?')}",
        daily_remaining=f"{headers.get('x-ratelimit-daily-remaining', '?')} of {headers.get('x-ratelimit-limit-daily', '?')}",
        missing_scopes=missing,
    )
    return report


def connection_reauth_message(*, connection: Connection, reason: str = "") -> str:
    """What a stopped job says: which connection needs re-auth, why, and what to do."""
    because = f" ({reason.strip()})" if reason.strip() else ""
    return (
        f"Stopped: the connection {connection} needs re-auth{because}. Connect it again from "
        "the admin (Connections, Connect again), then re-run this job."
    )[:2000]


def connection_jobs_stop(*, connection: Connection, reason: str = "") -> int:
    """Fail every queued job of ``connection`` with a message naming the re-auth; returns how many.

    Called when the connection turns *needs re-auth*: retrying those jobs can only fail again.
    """
    return Job.objects.filter(connection_id=connection.pk, status=Job.Status.QUEUED).update(
        status=Job.Status.FAILED,
        finished_at=timezone.now(),
        next_attempt_at=None,
        error_class="GhlReauthRequired",
        error_message=connection_reauth_message(connection=connection, reason=reason),
    )


def connection_needs_reauth(*, connection: Connection, reason: str = "") -> None:
    """The door's ``GHL_NEEDS_REAUTH_HANDLER``: stop the connection's jobs and tell its people."""
    connection_jobs_stop(connection=connection, reason=reason)
    connection_reauth_alert(connection=connection, reason=reason)


def connection_reauth_alert(*, connection: Connection, reason: str = "") -> int:
    """Alert the people of the location(s) this connection serves that it needs re-auth.

    An agency connection serves the locations whose tokens it mints. Returns how many signals.
    """
    from integrations.sync.alerts import alert_raise
    from portal.models import AlertCause

    if connection.location_id:
        location_ids = [connection.location_id]
    else:
        location_ids = list(
            connection.minted.exclude(location=None).values_list("location_id", flat=True)
        )
    detail = {
        "connection_id": connection.pk,
        "message": (reason or "HighLevel refused the token")[:300],
    }
    for location_id in location_ids:
        alert_raise(cause=AlertCause.NEEDS_REAUTH, location_id=location_id, detail=detail)
    return len(location_ids)


def connection_refresh_now(*, connection_id: int, actor: User | None = None) -> Connection:
    connection = connection_token_refresh(connection_id=connection_id, force=True)
    AuditEvent.objects.create(
        actor=actor,
        action="connection.refresh",
        location=connection.location,
        target=str(connection),
    )
    return connection


def connection_disconnect(*, connection_id: int, actor: User | None = None) -> Connection:
    """Wipe every secret and mark disconnected; the row and its sync log stay as history."""
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection_id)
        connection.access_token_encrypted = ""
        connection.refresh_token_encrypted = ""
        connection.token_expires_at = None
        connection.status = Connection.Status.DISCONNECTED
        connection.last_error = ""
        connection.save()
        AuditEvent.objects.create(
            actor=actor,
            action="connection.disconnect",
            location=connection.location,
            target=str(connection),
        )
    return connection


def connection_private_token_set(
    *, connection: Connection, token: str, actor: User | None = None
) -> Connection:
    """Store a private integration token (saves ``connection``, new or existing)."""
    connection.auth_type = Connection.AuthType.PRIVATE
    connection.access_token = token.strip()
    connection.refresh_token_encrypted = ""
    connection.token_expires_at = None
    connection.token_refreshed_at = timezone.now()
    connection.status = Connection.Status.ACTIVE
    connection.last_error = ""
    connection.kind = Connection.Kind.LOCATION if connection.location_id else Connection.Kind.AGENCY
    connection.save()
    AuditEvent.objects.create(
        actor=actor,
        action="connection.private_token",
        location=connection.location,
        target=str(connection),
    )
    return connection


def apps_for_user(*, user: Any) -> QuerySet[HighLevelApp]:
    """The apps ``user`` may connect with: every one for those who see every location; else the
    shared apps (offered to no agency in particular), the apps offered to their agencies and the
    ones already connecting them. Another agency's own app is its business, name included."""
    if user_sees_all_locations(user):
        return HighLevelApp.objects.all()
    agencies = agencies_for_user(user)
    return HighLevelApp.objects.filter(
        Q(offered_to__isnull=True)
        | Q(offered_to__in=agencies)
        | Q(connections__location__in=locations_for_user(user))
        | Q(connections__agency__in=agencies)
    ).distinct()


@dataclass
class ReconsentReport:
    """What re-consent asks of whom: one approval per agency for the locations its connection
    minted, one per location connected on its own; the scopes added to the apps' consent."""

    agencies: dict[int, list[str]] = field(default_factory=dict)  # agency connection -> locations
    locations: list[int] = field(default_factory=list)  # location ids to connect again
    scopes_added: dict[str, list[str]] = field(default_factory=dict)  # app name -> scopes
    skipped: int = 0  # selected connections that need nothing


def connections_reconsent(*, connection_ids: list[int], user: User | None) -> ReconsentReport:
    """Send many locations through re-consent at once.

    Each selected connection flagged for re-consent gets its missing scopes added to its app's
    consent; locations minted from an agency connection are grouped under it (the agency
    approves once, then their tokens are minted again), the others are listed for their own
    approval. Audited; sends nothing to HighLevel (consent happens in the approver's browser).
    """
    report = ReconsentReport()
    rows = Connection.objects.filter(pk__in=connection_ids).select_related(
        "app", "location", "parent"
    )
    apps: dict[int, HighLevelApp] = {}  # one instance per app: its scopes accumulate
    with transaction.atomic():
        for connection in rows:
            missing = connection.reconsent_scopes.split()
            if not missing:
                report.skipped += 1
                continue
            app = apps.setdefault(connection.app_id, connection.app)
            added = [s for s in missing if s not in app.scope_set]
            if added:
                app.scopes = " ".join(sorted(app.scope_set | set(added)))
                app.save(update_fields=["scopes"])
                report.scopes_added.setdefault(app.name, []).extend(added)
            name = connection.location.name if connection.location else str(connection)
            if connection.parent_id is not None:
                report.agencies.setdefault(connection.parent_id, []).append(name)
            elif connection.location_id is not None:
                report.locations.append(connection.location_id)
            AuditEvent.objects.create(
                actor=user,
                action="connection.reconsent",
                location_id=connection.location_id,
                target=f"connection {connection.pk}"[:255],
                detail={"scopes": missing},
            )
    return report
