"""Lifecycle webhooks: the app installed or uninstalled, a sub-account created or renamed.

Payloads: specs/highlevel/docs/webhook events/AppInstall.md, AppUninstall.md, LocationCreate.md,
LocationUpdate.md. Each handler runs in the intake's transaction (``webhooks_in.EVENT_HANDLERS``)
and does its work there (a few rows): the event is then *processed*. What cannot be applied (an
agency the portal does not know) raises :class:`EventError`, kept on the event with why.

- ``UNINSTALL`` (of a location, or of a company: every connection of the agency): the connections
  are marked *uninstalled* and their tokens wiped, their subscriptions paused and their queued
  jobs failed, each with a message saying what happened and what to do.
- ``INSTALL`` of a location whose agency the portal has connected: handled like a new
  sub-account (below); a company install needs the agency's own consent, so it is only kept.
- ``LocationCreate``: the sub-account is added to its agency as a location, not connected
  (offered on the dashboard as "not connected"), or connected at once through the agency
  connection when the agency chose so (``Agency.auto_connect_new_locations``).
- ``LocationUpdate``: the location's name follows HighLevel's at once; its time zone (which the
  payload does not carry) is read with ``GET /locations/{locationId}`` by a "location" job.
"""

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Q
from django.utils import timezone

from integrations.catalog.services import operation_run
from integrations.ghl.models import Connection, HighLevelApp
from integrations.sync.jobs import job_enqueue
from integrations.sync.models import Job, Subscription, WebhookEvent
from integrations.sync.onboarding import mint_batch_create
from integrations.sync.targets import EventError, job_location_id, location_connection_get
from portal.models import Agency, AuditEvent, Location

UNINSTALLED_ERROR = "AppUninstalled"
LOCATION_GET = "GET /locations/{locationId}"


def _apps(app_id: str) -> list[int]:
    """The portal's apps that are HighLevel's app ``app_id`` (all of them when it is not given)."""
    apps = HighLevelApp.objects.all()
    if not app_id:
        return list(apps.values_list("pk", flat=True))
    return [
        app.pk
        for app in apps.only("pk", "app_id", "client_id")
        if (app.app_id or app.client_id.split("-")[0]) == app_id or app.client_id == app_id
    ]


def uninstall_message(*, connection: Connection, when: str) -> str:
    return (
        f"Stopped: the app was uninstalled in HighLevel from {connection} ({when}). Install it "
        "again in HighLevel and connect again from the admin (Connections), then re-run."
    )[:2000]


def app_uninstall_handle(event: WebhookEvent) -> Job | None:
    """UNINSTALL: mark the connections uninstalled; stop their subscriptions and queued jobs."""
    payload = event.payload or {}
    location_ghl_id = str(payload.get("locationId") or "")
    company_id = str(payload.get("companyId") or "")
    if not location_ghl_id and not company_id:
        raise EventError("The UNINSTALL payload names neither a locationId nor a companyId.")
    connections = Connection.objects.filter(app_id__in=_apps(str(payload.get("appId") or "")))
    if location_ghl_id:
        connections = connections.filter(location__location_id=location_ghl_id)
    else:  # the whole company: its agency connection and every location connection under it
        connections = connections.filter(agency__company_id=company_id)
    connections = connections.exclude(
        status__in=[Connection.Status.DISCONNECTED, Connection.Status.UNINSTALLED]
    ).select_related("location", "agency", "app")
    when = str(payload.get("timestamp") or timezone.now().isoformat())
    stopped = {"connections": 0, "subscriptions": 0, "jobs": 0}
    for connection in connections:
        message = uninstall_message(connection=connection, when=when)
        Connection.objects.filter(pk=connection.pk).update(
            status=Connection.Status.UNINSTALLED,
            access_token_encrypted="",
            refresh_token_encrypted="",
            token_expires_at=None,
            last_error=message,
            last_error_at=timezone.now(),
        )
        stopped["connections"] += 1
        stopped["subscriptions"] += Subscription.objects.filter(
            connection_id=connection.pk, paused=False
        ).update(paused=True, last_run_error=message)
        own_jobs = Q(connection_id=connection.pk)
        if connection.location_id:
            own_jobs |= Q(location_id=connection.location_id, connection__isnull=True)
        stopped["jobs"] += (
            Job.objects.filter(own_jobs, status=Job.Status.QUEUED)
            .exclude(kind=Job.Kind.WEBHOOK)  # Rankr can still apply what HighLevel sent
            .update(
                status=Job.Status.FAILED,
                finished_at=timezone.now(),
                next_attempt_at=None,
                error_class=UNINSTALLED_ERROR,
                error_message=message,
            )
        )
        AuditEvent.objects.create(
            actor=None,
            action="connection.uninstalled",
            location=connection.location,
            target=str(connection),
            detail={"webhook_id": event.webhook_id, **stopped},
        )
    WebhookEvent.objects.filter(pk=event.pk).update(
        reason=(
            f"{stopped['connections']} connection(s) marked uninstalled, "
            f"{stopped['subscriptions']} subscription(s) paused, {stopped['jobs']} job(s) stopped."
        )[:300]
    )
    return None


def location_offer(
    *, company_id: str, location_ghl_id: str, name: str, event: WebhookEvent
) -> Location:
    """A sub-account of a known agency: added (not connected), or connected at once through the
    agency connection when the agency chose so. Raises EventError for an unknown agency."""
    agency = Agency.objects.filter(company_id=company_id).first() if company_id else None
    if agency is None:
        raise EventError(
            f"No agency has HighLevel company id {company_id!r}: add the agency, then re-process "
            "the event."
        )
    location, created = Location.objects.get_or_create(
        location_id=location_ghl_id,
        defaults={"agency": agency, "name": (name or location_ghl_id)[:200]},
    )
    note = "added, not connected" if created else "already known"
    agency_connection = (
        Connection.objects.filter(
            agency=agency,
            location__isnull=True,
            kind=Connection.Kind.AGENCY,
            status=Connection.Status.ACTIVE,
        )
        .order_by("-created_at")
        .first()
    )
    connected = Connection.objects.filter(
        location=location, status=Connection.Status.ACTIVE
    ).exists()
    if agency.auto_connect_new_locations and agency_connection is not None and not connected:
        mint_batch_create(
            connection_id=agency_connection.pk,
            locations=[{"id": location_ghl_id, "name": location.name}],
            user=None,
        )
        note = "connecting through the agency connection"
    AuditEvent.objects.create(
        actor=None,
        action="location.offered",
        location=location,
        target=str(location),
        detail={"webhook_id": event.webhook_id, "outcome": note},
    )
    WebhookEvent.objects.filter(pk=event.pk).update(
        location=location, reason=f"{location.name}: {note}."[:300]
    )
    return location


def location_create_handle(event: WebhookEvent) -> Job | None:
    """LocationCreate: offer (or connect) the new sub-account of a known agency."""
    payload = event.payload or {}
    location_ghl_id = str(payload.get("id") or "")
    if not location_ghl_id:
        raise EventError("The LocationCreate payload has no id.")
    location_offer(
        company_id=str(payload.get("companyId") or ""),
        location_ghl_id=location_ghl_id,
        name=str(payload.get("name") or ""),
        event=event,
    )
    return None


def app_install_handle(event: WebhookEvent) -> Job | None:
    """INSTALL: a location install under a connected agency is offered like a new sub-account."""
    payload: dict[str, Any] = event.payload or {}
    location_ghl_id = str(payload.get("locationId") or "")
    if payload.get("installType") == "Company" or not location_ghl_id:
        WebhookEvent.objects.filter(pk=event.pk).update(
            reason="Company install: connect the agency from the admin (Connect agency)."
        )
        return None
    location_offer(
        company_id=str(payload.get("companyId") or ""),
        location_ghl_id=location_ghl_id,
        name=str(payload.get("companyName") or ""),
        event=event,
    )
    return None


def location_update_handle(event: WebhookEvent) -> Job | None:
    """LocationUpdate: the location's name follows HighLevel's; a job reads its time zone."""
    payload = event.payload or {}
    location = Location.objects.filter(location_id=str(payload.get("id") or "")).first()
    if location is None:
        WebhookEvent.objects.filter(pk=event.pk).update(reason="Not a location of the portal.")
        return None
    name = str(payload.get("name") or "").strip()[:200]
    if name and name != location.name:
        Location.objects.filter(pk=location.pk).update(name=name)
        AuditEvent.objects.create(
            actor=None,
            action="location.renamed",
            location=location,
            target=name,
            detail={"webhook_id": event.webhook_id, "before": location.name},
        )
    WebhookEvent.objects.filter(pk=event.pk).update(location=location)
    if Connection.objects.filter(location=location, status=Connection.Status.ACTIVE).exists():
        job_enqueue(
            kind=Job.Kind.LOCATION,
            idempotency_key=f"location:{event.webhook_id}",
            location_id=location.pk,
            operation=LOCATION_GET,
            subject=location.location_id,
            params={"webhook_id": event.webhook_id},
            max_attempts=3,
        )
    return None


def location_refresh_job_run(job: Job) -> dict[str, Any]:
    """JOB_HANDLERS "location": read the location from HighLevel; its name and time zone follow."""
    location_id = job_location_id(job)
    connection = location_connection_get(location_id=location_id)
    Job.objects.filter(pk=job.pk).update(connection=connection)
    location = Location.objects.get(pk=location_id)
    response = operation_run(
        connection_id=connection.pk,
        operation_id=LOCATION_GET,
        params={"locationId": location.location_id},
        job_id=job.pk,
    )
    data = response.data.get("location") if isinstance(response.data, dict) else None
    if not isinstance(data, dict):
        raise EventError(f"HighLevel's answer to {LOCATION_GET} holds no location.")
    changes: dict[str, str] = {}
    name = str(data.get("name") or "").strip()[:200]
    if name and name != location.name:
        changes["name"] = name
    zone = str(data.get("timezone") or "").strip()
    if zone and zone != location.time_zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise EventError(f"HighLevel's time zone {zone[:60]!r} is not an IANA zone.") from None
        changes["time_zone"] = zone[:64]
    if changes:
        Location.objects.filter(pk=location.pk).update(**changes)
        AuditEvent.objects.create(
            actor=None,
            action="location.updated",
            location=location,
            target=str(location),
            detail={"changes": changes, "job_id": job.pk},
        )
    return {"changed": sorted(changes), "trace_id": response.trace_id}


LIFECYCLE_HANDLERS = {
    "INSTALL": app_install_handle,
    "UNINSTALL": app_uninstall_handle,
    "LocationCreate": location_create_handle,
    "LocationUpdate": location_update_handle,
}
