"""The admin home: each of the user's locations at a glance, failing ones first, and a 24-hour chart.

A handful of grouped queries for all locations at once (never a query per location), bounded to
the last 24 hours so they stay fast on big sync-log and job tables.
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from integrations.ghl.ratelimit import ratelimit_key
from integrations.models import (
    Connection,
    EntityCoverage,
    Job,
    RateBucket,
    Subscription,
    SyncLog,
    Verification,
)
from integrations.sync.heartbeats import heartbeats_status
from portal.scoping import locations_for_user

STATUS_RANK = {
    Connection.Status.NEEDS_REAUTH: 0,
    Connection.Status.UNINSTALLED: 1,
    Connection.Status.DISCONNECTED: 2,
    Connection.Status.ACTIVE: 3,
}


@dataclass
class LocationHealth:
    location: object
    connection_status: str = "not connected"
    needs_reauth: bool = False
    last_success_at: object = None
    last_sync_at: object = None  # the newest successful subscription run (poll or backfill)
    failures_24h: int = 0
    calls_24h: int = 0
    errors_24h: int = 0
    queued_jobs: int = 0
    burst_used: int = 0
    burst_limit: int = 0
    day_used: int = 0
    day_limit: int = 0
    problems: list = field(default_factory=list)
    connection_ids: list = field(default_factory=list)
    mismatch_rate: float | None = None  # the worst entity's latest verification (None: none)
    coverage_age_s: float | None = None  # the oldest entity coverage (None: never measured)

    @property
    def mismatch_percent(self):
        return None if self.mismatch_rate is None else 100.0 * self.mismatch_rate

    @property
    def coverage_age_hours(self):
        return None if self.coverage_age_s is None else self.coverage_age_s / 3600

    @property
    def error_rate(self):
        return (100.0 * self.errors_24h / self.calls_24h) if self.calls_24h else 0.0

    @property
    def failing(self):
        return bool(self.problems)


def dashboard_locations(*, user, now=None, location_ids=None):
    """Health of every location ``user`` may see (or of those in ``location_ids``), the ones
    needing attention first: not connected, never synced, needing re-auth, or failing."""
    now = now or timezone.now()
    since = now - timedelta(hours=24)
    visible = locations_for_user(user)
    if location_ids is not None:
        visible = visible.filter(pk__in=location_ids)
    locations = list(visible.select_related("agency"))
    health = {loc.pk: LocationHealth(location=loc) for loc in locations}
    if not health:
        return []
    ids = list(health)

    connections = list(
        Connection.objects.filter(location_id__in=ids).select_related("location", "agency")
    )
    for conn in connections:
        row = health[conn.location_id]
        row.connection_ids.append(conn.pk)
        current = row.connection_status
        if current == "not connected" or STATUS_RANK.get(conn.status, 9) < STATUS_RANK.get(
            current, 9
        ):
            row.connection_status = conn.status
        row.needs_reauth |= conn.status == Connection.Status.NEEDS_REAUTH
        if conn.last_success_at and (
            not row.last_success_at or conn.last_success_at > row.last_success_at
        ):
            row.last_success_at = conn.last_success_at

    for item in (
        SyncLog.objects.filter(location_id__in=ids, at__gte=since)
        .values("location_id")
        .annotate(
            calls=Count("id"),
            errors=Count("id", filter=Q(status__isnull=True) | Q(status__gte=400)),
            last_ok=Max("at", filter=Q(status__lt=400)),
        )
    ):
        row = health[item["location_id"]]
        row.calls_24h, row.errors_24h = item["calls"], item["errors"]
        if item["last_ok"] and (not row.last_success_at or item["last_ok"] > row.last_success_at):
            row.last_success_at = item["last_ok"]

    for item in (
        Job.objects.filter(location_id__in=ids)
        .filter(
            Q(status=Job.Status.QUEUED)
            | Q(status__in=[Job.Status.FAILED, Job.Status.DEAD], queued_at__gte=since)
        )
        .values("location_id")
        .annotate(
            queued=Count("id", filter=Q(status=Job.Status.QUEUED)),
            failed=Count("id", filter=Q(status__in=[Job.Status.FAILED, Job.Status.DEAD])),
        )
    ):
        row = health[item["location_id"]]
        row.queued_jobs, row.failures_24h = item["queued"], item["failed"]

    for item in (
        Subscription.objects.filter(location_id__in=ids)
        .values("location_id")
        .annotate(last=Max("last_success_at"))
    ):
        health[item["location_id"]].last_sync_at = item["last"]

    _rate_use(health, connections)
    _verified(health, ids, now)

    for row in health.values():
        if row.connection_status == "not connected":
            row.problems.append("not connected")
        elif row.connection_status == Connection.Status.DISCONNECTED:
            row.problems.append("disconnected")
        elif row.connection_status == Connection.Status.UNINSTALLED:
            row.problems.append("app uninstalled in HighLevel")
        elif row.connection_status == Connection.Status.ACTIVE and not row.last_sync_at:
            row.problems.append("never synced")
        if row.needs_reauth:
            row.problems.append("needs re-auth")
        if row.failures_24h:
            row.problems.append(f"{row.failures_24h} failed job(s)")
        if row.calls_24h >= 10 and row.error_rate >= 20:
            row.problems.append(f"{row.error_rate:.0f}% errors")
        if (row.mismatch_rate or 0) > settings.VERIFY_ALERT_MISMATCH_RATE:
            row.problems.append(f"{row.mismatch_percent:.1f}% mismatched (verified)")
        if (row.coverage_age_s or 0) > settings.VERIFY_ALERT_COVERAGE_HOURS * 3600:
            row.problems.append(f"coverage {row.coverage_age_hours:.0f} h old")
    return sorted(
        health.values(),
        key=lambda r: (not r.failing, not r.needs_reauth, -r.failures_24h, r.location.name),
    )


VERIFIED_WITHIN = timedelta(days=3)


def _verified(health, ids, now):
    """The worst entity's latest verified mismatch rate, and the oldest coverage, per location."""
    seen = set()
    for location_id, entity, rate in (
        Verification.objects.filter(location_id__in=ids, measured_at__gte=now - VERIFIED_WITHIN)
        .order_by("-measured_at", "-pk")
        .values_list("location_id", "entity", "mismatch_rate")
    ):
        if (location_id, entity) in seen:
            continue
        seen.add((location_id, entity))
        row = health[location_id]
        row.mismatch_rate = max(row.mismatch_rate or 0.0, rate)
    for coverage in EntityCoverage.objects.filter(location_id__in=ids):
        age = coverage.age_s(now)
        if age is not None:
            row = health[coverage.location_id]
            row.coverage_age_s = max(row.coverage_age_s or 0.0, age)


def _rate_use(health, connections):
    keys = {
        ratelimit_key(app_id=c.app_id, resource_id=c.resource_id): c.location_id
        for c in connections
    }
    window = settings.GHL_RATE_LIMIT_INTERVAL_MS / 1000
    now = time.time()
    today = timezone.now().date()
    for bucket in RateBucket.objects.filter(key__in=keys):
        row = health[keys[bucket.key]]
        row.burst_used = max(row.burst_used, sum(1 for s in bucket.stamps if s > now - window))
        row.burst_limit = bucket.server_limit or settings.GHL_RATE_LIMIT_BURST
        row.day_used = max(row.day_used, bucket.day_count if bucket.day == today else 0)
        row.day_limit = settings.GHL_RATE_LIMIT_DAILY


def dashboard_hourly(*, user, now=None):
    """Sync-log calls and errors per hour over the last 24 hours for the user's locations."""
    now = now or timezone.now()
    start = (now - timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    rows = (
        SyncLog.objects.filter(at__gte=start, location__in=locations_for_user(user))
        .annotate(hour=TruncHour("at"))
        .values("hour")
        .annotate(
            calls=Count("id"),
            errors=Count("id", filter=Q(status__isnull=True) | Q(status__gte=400)),
        )
    )
    by_hour = {row["hour"]: row for row in rows}
    hours = [start + timedelta(hours=i) for i in range(24)]
    return [
        (hour, by_hour.get(hour, {}).get("calls", 0), by_hour.get(hour, {}).get("errors", 0))
        for hour in hours
    ]


def _n(value):
    return f"{value:.1f}"


def chart_svg(*, series, width=720, height=160):
    """A bar chart (calls in blue, errors in red) as inline SVG: no JavaScript, no CDN."""
    peak = max([calls for _, calls, _ in series] + [1])
    bar = width / max(len(series), 1)
    plot = height - 24
    bars, ticks = [], []
    for i, (hour, calls, errors) in enumerate(series):
        x, w = i * bar + 2, bar - 4
        h_calls, h_err = plot * calls / peak, plot * errors / peak
        label = f"{timezone.localtime(hour):%H:00}: {calls} calls, {errors} errors"
        bars.append(
            (
                label,
                _n(x),
                _n(plot - h_calls),
                _n(w),
                _n(h_calls),
                _n(x),
                _n(plot - h_err),
                _n(w),
                _n(h_err),
            )
        )
        if i % 3 == 0:
            ticks.append((_n(x), height - 6, f"{timezone.localtime(hour):%H}h"))
    body = format_html_join(
        "",
        '<g><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" fill="#79aec8"/>'
        '<rect x="{}" y="{}" width="{}" height="{}" fill="#ba2121"/></g>',
        bars,
    )
    labels = format_html_join("", '<text x="{}" y="{}" font-size="10" fill="#666">{}</text>', ticks)
    return format_html(
        '<svg class="portal-chart" viewBox="0 0 {} {}" width="100%" role="img" '
        'aria-label="Sync calls and errors per hour, last 24 hours">{}{}'
        '<text x="{}" y="12" font-size="11" text-anchor="end" fill="#666">peak {} calls/h</text></svg>',
        width,
        height,
        body,
        labels,
        width - 4,
        peak,
    )


def age_text(seconds):
    """``42 s``, ``5 min``, ``3.2 h``, ``2.0 days``: a heartbeat's age at a glance."""
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def dashboard_processes(*, user):
    """The background components' health (worker, dispatcher), each with its newest beat's age;
    the processes (host:pid) only for superusers: hosts are the platform's, not an agency's."""
    rows = []
    for item in heartbeats_status():
        rows.append(
            {
                "component": item.component,
                "label": item.label,
                "status": item.status,
                "required": item.required,
                "age": age_text(item.age_s),
                "live": item.live_processes,
                "stale": item.stale_processes,
                "processes": [
                    {"name": p.process, "age": age_text(p.age_s), "stale": p.stale}
                    for p in item.processes
                ]
                if user.is_superuser
                else [],
            }
        )
    return rows
