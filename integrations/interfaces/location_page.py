"""One location at a glance: its connection and health, each subscription's live progress, its
records per entity, recent jobs and errors, rate-limit use, and the alerts sent about it.

A handful of queries per page, each bounded (by location and time, or a short LIMIT).
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from integrations.interfaces.dashboard import dashboard_locations
from integrations.models import Connection, Job, Subscription, SyncLog
from integrations.sync.subscriptions.progress import duration_text
from mappings.models import QuarantinedRecord
from portal.models import AlertIncident
from rankr.models import RECORD_MODELS

RECENT = 10
BUDGET_WINDOW = timedelta(hours=1)


@dataclass
class SubscriptionProgress:
    subscription: Subscription
    state: str
    pages: int
    records: int
    total: int | None
    percent: float | None
    rate: float | None  # records per second
    eta: str
    calls_last_hour: int = 0
    budget_share: float = 0.0  # % of the location's HighLevel calls in the last hour


@dataclass
class LocationOverview:
    location: object
    health: object
    connections: list
    subscriptions: list
    record_counts: list  # (verbose name plural, kind, count)
    recent_jobs: list
    failed_jobs: list
    error_logs: list
    calls_last_hour: int = 0
    alerts: list = field(default_factory=list)
    quarantined: int = 0  # records set aside (mappings' Quarantined records), still open
    # Measured by the whole-location sync (not built yet): None means "not measured".
    coverage_age: object = None
    mismatch_rate: object = None


def subscription_state(subscription, now):
    if not subscription.enabled:
        return "disabled"
    if subscription.paused:
        return "paused"
    if subscription.claimed_until and subscription.claimed_until > now:
        return "running"
    return "waiting"


def subscription_progress(subscription, *, now) -> SubscriptionProgress:
    s = subscription
    total = s.backfill_total
    if s.backfill_finished_at:
        percent = 100.0
    elif total:
        percent = min(100.0 * s.backfill_records / total, 100.0)
    else:
        percent = None
    eta = s.backfill_eta_s(now)
    if s.backfill_finished_at:
        eta_text = f"done in {duration_text(s.backfill_elapsed_s(now))}"
    elif not s.backfill_started_at:
        eta_text = "not started"
    else:
        eta_text = duration_text(eta) if eta is not None else "unknown (HighLevel gave no total)"
    return SubscriptionProgress(
        subscription=s,
        state=subscription_state(s, now),
        pages=s.backfill_pages,
        records=s.backfill_records,
        total=total,
        percent=percent,
        rate=s.backfill_rate(now),
        eta=eta_text,
    )


def location_subscriptions(*, location, now) -> tuple[list, int]:
    """Each subscription's progress and its share of the location's calls in the last hour."""
    since = now - BUDGET_WINDOW
    rows = [
        subscription_progress(s, now=now)
        for s in Subscription.objects.filter(location=location).select_related("mapping")
    ]
    calls = dict(
        SyncLog.objects.filter(location=location, at__gte=since)
        .values_list("job_id")
        .annotate(n=Count("id"))
        .values_list("job_id", "n")
    )
    total_calls = sum(calls.values())
    subjects = {f"subscription {row.subscription.pk}": row for row in rows}
    jobs = Job.objects.filter(
        location=location, subject__in=list(subjects), queued_at__gte=since - timedelta(hours=1)
    ).values_list("pk", "subject")
    for job_id, subject in jobs:
        subjects[subject].calls_last_hour += calls.get(job_id, 0)
    for row in rows:
        row.budget_share = 100.0 * row.calls_last_hour / total_calls if total_calls else 0.0
    return rows, total_calls


def location_record_counts(*, location) -> list:
    """Live (not deleted in HighLevel) Rankr records per entity: exact counts, one location."""
    return [
        (
            model._meta.verbose_name_plural,
            kind,
            model.objects.filter(location=location, deleted_at__isnull=True).count(),
        )
        for kind, model in RECORD_MODELS.items()
    ]


def location_overview_get(*, location, user, now=None) -> LocationOverview:
    now = now or timezone.now()
    health = dashboard_locations(user=user, now=now, location_ids=[location.pk])[0]
    subscriptions, calls = location_subscriptions(location=location, now=now)
    jobs = Job.objects.filter(location=location)
    failed = jobs.filter(status__in=[Job.Status.FAILED, Job.Status.DEAD])
    errors = []
    if user.has_perm("integrations.view_synclog"):
        errors = list(
            SyncLog.objects.filter(location=location).filter(
                Q(status__isnull=True) | Q(status__gte=400)
            )[:RECENT]
        )
    return LocationOverview(
        location=location,
        health=health,
        connections=list(
            Connection.objects.filter(location=location).select_related("app", "connected_by")
        ),
        subscriptions=subscriptions,
        record_counts=location_record_counts(location=location),
        recent_jobs=list(jobs[:RECENT]),
        failed_jobs=list(failed[:RECENT]),
        error_logs=errors,
        calls_last_hour=calls,
        alerts=location_alerts(location=location),
        quarantined=QuarantinedRecord.objects.filter(
            location=location, resolved_at__isnull=True
        ).count(),
    )


def location_alerts(*, location) -> list:
    """Alert incidents sent about this location, newest first."""
    return list(AlertIncident.objects.filter(locations=location).order_by("-sent_at")[:RECENT])
