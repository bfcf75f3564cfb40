"""Alerts that scale: the right people hear once about what broke, grouped by agency and cause.

:func:`alert_raise` records a signal (cheap, inside the caller's transaction: a rolled-back
failure alerts nobody). :func:`alerts_send`, run by the portal tick each minute, gathers the
pending signals of one agency and cause into one :class:`AlertIncident` (an outage at 300
locations is one message listing them), skips a location already alerted about that cause in the
last hour, and tells:

- by email (Django's mail), each staff member assigned to any of the locations (listing only
  theirs) and every member of the Support group (listing all), unless they turned alerts off;
- if ``ALERT_WEBHOOK_URL`` is set, a JSON POST signed with HMAC-SHA256 (:func:`alert_signature`).

A failed email or webhook is recorded on the incident and logged; it is not retried (the next
signal of the same cause after the hour alerts again).
"""

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.models import AlertCause, AlertIncident, AlertSignal, Location
from portal.roles import SUPPORT

logger = logging.getLogger(__name__)

THROTTLE = timedelta(hours=1)  # each cause at most once per hour per location
WEBHOOK_TIMEOUT = (3.05, 10)
SIGNATURE_HEADER = "X-Portal-Signature"
SIGNATURE_TOLERANCE_S = 300


def alert_raise(
    *, cause: str, location_id: int, detail: dict[str, Any] | None = None
) -> AlertSignal:
    """Note that ``cause`` happened at a location; :func:`alerts_send` tells people."""
    location = Location.objects.only("pk", "agency_id").get(pk=location_id)
    return AlertSignal.objects.create(
        cause=cause, agency_id=location.agency_id, location_id=location.pk, detail=detail or {}
    )


def alerts_send(*, now: datetime | None = None) -> list[AlertIncident]:
    """Send one incident per (agency, cause) whose first pending signal has waited
    ``ALERT_GROUP_SECONDS``; returns the incidents sent."""
    now = now or timezone.now()
    settle = now - timedelta(seconds=settings.ALERT_GROUP_SECONDS)
    groups = (
        AlertSignal.objects.filter(incident__isnull=True, suppressed=False)
        .values_list("agency_id", "cause")
        .distinct()
    )
    sent = []
    for agency_id, cause in list(groups):
        incident = _incident_make(agency_id=agency_id, cause=cause, now=now, settle=settle)
        if incident is not None:
            _deliver(incident)
            sent.append(incident)
    return sent


def _incident_make(
    *, agency_id: int, cause: str, now: datetime, settle: datetime
) -> AlertIncident | None:
    with transaction.atomic():
        pending = list(
            AlertSignal.objects.select_for_update(skip_locked=True)
            .filter(agency_id=agency_id, cause=cause, incident__isnull=True, suppressed=False)
            .order_by("at")
        )
        if not pending or pending[0].at > settle:
            return None  # still gathering this burst
        recent = set(
            AlertIncident.locations.through.objects.filter(
                alertincident__cause=cause,
                alertincident__sent_at__gt=now - THROTTLE,
                location_id__in={s.location_id for s in pending},
            ).values_list("location_id", flat=True)
        )
        fresh = [s for s in pending if s.location_id not in recent]
        AlertSignal.objects.filter(
            pk__in=[s.pk for s in pending if s.location_id in recent]
        ).update(suppressed=True)
        if not fresh:
            return None
        locations = Location.objects.filter(pk__in={s.location_id for s in fresh}).order_by("name")
        names = [loc.name for loc in locations]
        label = AlertCause(cause).label
        subject = (
            f"{label}: {names[0]}"
            if len(names) == 1
            else f"{label}: {len(names)} locations of {locations[0].agency.name}"
        )[:255]
        incident = AlertIncident.objects.create(
            sent_at=now, cause=cause, agency_id=agency_id, subject=subject
        )
        incident.locations.set(locations)
        AlertSignal.objects.filter(pk__in=[s.pk for s in fresh]).update(incident=incident)
    return incident


def alert_recipients(*, incident: AlertIncident) -> list[tuple[AbstractUser, list[Location]]]:
    """(user, the incident's locations they may see) for each person to email."""
    User = get_user_model()
    locations = list(incident.locations.all().order_by("name"))
    ids = {loc.pk for loc in locations}
    people: dict[int, tuple[AbstractUser, list[Location]]] = {}
    for user in (
        User.objects.filter(is_active=True, groups__name=SUPPORT)
        .exclude(alert_setting__email_alerts=False)
        .exclude(email="")
        .distinct()
    ):
        people[user.pk] = (user, locations)
    assigned = (
        User.objects.filter(is_active=True, assigned_locations__in=ids)
        .exclude(alert_setting__email_alerts=False)
        .exclude(email="")
        .distinct()
    )
    for user in assigned:
        if user.pk not in people:
            theirs = set(user.assigned_locations.filter(pk__in=ids).values_list("pk", flat=True))
            people[user.pk] = (user, [loc for loc in locations if loc.pk in theirs])
    return sorted(people.values(), key=lambda pair: pair[0].get_username())


def _location_url(location: Location) -> str:
    return settings.PORTAL_BASE_URL + reverse("admin:location_overview", args=[location.pk])


def _body(
    incident: AlertIncident, locations: Sequence[Location], signals: Iterable[AlertSignal]
) -> str:
    detail = {s.location_id: s.detail for s in signals}
    lines = [
        f"{incident.get_cause_display().capitalize()} at {len(locations)} location(s) of "
        f"{incident.agency.name}:",
        "",
    ]
    for loc in locations:
        extra = detail.get(loc.pk) or {}
        note = f" ({extra['message']})" if extra.get("message") else ""
        lines.append(f"- {loc.name} [{loc.location_id}]{note}: {_location_url(loc)}")
    lines += [
        "",
        "You get this because you are assigned to these locations or are in Support. "
        "Turn alerts off under Account → Alerts: "
        + settings.PORTAL_BASE_URL
        + reverse("admin:alert_settings"),
    ]
    return "\n".join(lines)


def _deliver(incident: AlertIncident) -> None:
    signals = list(incident.signals.all())
    recipients = alert_recipients(incident=incident)
    messages = [
        EmailMessage(
            subject=f"[Rankr portal] {incident.subject}",
            body=_body(incident, locs, signals),
            to=[user.email],
        )
        for user, locs in recipients
        if locs
    ]
    try:
        get_connection().send_messages(messages)
    except Exception:
        logger.exception("alert %s: email failed", incident.pk)
    incident.recipients = [user.get_username() for user, locs in recipients if locs]
    incident.webhook_status = _webhook_send(incident, signals)
    incident.save(update_fields=["recipients", "webhook_status"])


def alert_payload(
    *, incident: AlertIncident, signals: Iterable[AlertSignal] = ()
) -> dict[str, Any]:
    detail = {s.location_id: s.detail for s in signals}
    return {
        "incident": incident.pk,
        "cause": incident.cause,
        "summary": incident.subject,
        "agency": {"name": incident.agency.name, "company_id": incident.agency.company_id},
        "sent_at": incident.sent_at.isoformat(),
        "locations": [
            {
                "name": loc.name,
                "location_id": loc.location_id,
                "url": _location_url(loc),
                "detail": detail.get(loc.pk) or {},
            }
            for loc in incident.locations.all().order_by("name")
        ],
    }


def alert_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """``t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`` (as Stripe and Slack sign)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def alert_signature_verify(
    *, secret: str, header: str, body: bytes, now: float | None = None
) -> bool:
    """For receivers: the signature matches and is at most five minutes old."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > SIGNATURE_TOLERANCE_S:
        return False
    expected = alert_signature(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected, header.strip())


def _webhook_send(incident: AlertIncident, signals: Iterable[AlertSignal]) -> str:
    if not settings.ALERT_WEBHOOK_URL:
        return ""
    body = json.dumps(alert_payload(incident=incident, signals=signals), sort_keys=True).encode()
    headers = {"Content-Type": "application/json"}
    if settings.ALERT_WEBHOOK_SECRET:
        headers[SIGNATURE_HEADER] = alert_signature(
            secret=settings.ALERT_WEBHOOK_SECRET, timestamp=int(time.time()), body=body
        )
    try:
        answer = requests.post(
            settings.ALERT_WEBHOOK_URL, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT
        )
    except requests.RequestException as exc:
        logger.warning("alert %s: webhook failed: %s", incident.pk, exc.__class__.__name__)
        return f"failed: {exc.__class__.__name__}"
    return f"HTTP {answer.status_code}"
