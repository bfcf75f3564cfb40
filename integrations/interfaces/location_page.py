"""One location at a glance: its connection and health, each subscription's live progress, its
records per entity, recent jobs and errors, rate-limit use, and the alerts sent about it.

A handful of queries per page, each bounded (by location and time, or a short LIMIT).
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from integrations.interfaces.dashboard import dashboard_locations
from integrations.models import (
    Connection,
    EntityCoverage,
    Job,
    Subscription,
    SyncLog,
    Verification,
)
from integrations.sync.subscriptions.budget import company_budget, location_budget
from integrations.sync.subscriptions.progress import duration_text
from mappings.entities import ENTITIES, GHL_TO_RANKR
from mappings.models import Mapping, QuarantinedRecord
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
    # Per entity: coverage age (reconciliation) and the verifier's latest measurement.
    coverage: list = field(default_factory=list)
    budgets: list = field(default_factory=list)  # the location's and its company's BudgetPlan
    # The worst entity's (None: not measured).
    coverage_age: object = None
    mismatch_rate: object = None


@dataclass
class EntityCoverageRow:
    entity: str
    label: str
    records: int
    coverage_age_s: float | None  # since every record was last confirmed (None: never)
    last_full_pass_at: object
    verification: object  # the latest Verification, or None

    @property
    def coverage_age(self) -> str:
        return duration_text(self.coverage_age_s) if self.coverage_age_s is not None else ""

    @property
    def mismatch_percent(self) -> float | None:
        v = self.verification
        return 100.0 * v.mismatch_rate if v is not None else None


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


def location_coverage(*, location, now) -> list[EntityCoverageRow]:
    """Per entity the location syncs from HighLevel: coverage age and the latest verification."""
    coverage = {c.entity: c for c in EntityCoverage.objects.filter(location=location)}
    latest: dict = {}
    for verification in Verification.objects.filter(location=location).order_by("-measured_at")[
        :200
    ]:
        latest.setdefault(verification.entity, verification)
    mapped = set(
        Mapping.objects.filter(location=location, direction=GHL_TO_RANKR).values_list(
            "entity", flat=True
        )
    )
    rows = []
    for key, entity in ENTITIES.items():
        if entity.rankr_model is None or not ({key} & (mapped | set(coverage) | set(latest))):
            continue
        held = coverage.get(key)
        rows.append(
            EntityCoverageRow(
                entity=key,
                label=entity.label,
                records=entity.rankr_model.objects.filter(
                    location=location, deleted_at__isnull=True
                ).count(),
                coverage_age_s=held.age_s(now) if held is not None else None,
                last_full_pass_at=held.last_full_pass_at if held is not None else None,
                verification=latest.get(key),
            )
        )
    return rows


def location_budgets(*, location) -> list:
    """The location's budget plan and its company's (subscriptions' estimated requests a day)."""
    return [
        location_budget(location_id=location.pk),
        company_budget(agency_id=location.agency_id),
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
    overview = LocationOverview(
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
    overview.coverage = location_coverage(location=location, now=now)
    overview.budgets = location_budgets(location=location)
    ages = [r.coverage_age_s for r in overview.coverage if r.coverage_age_s is not None]
    rates = [r.verification.mismatch_rate for r in overview.coverage if r.verification]
    overview.coverage_age = max(ages) if ages else None
    overview.mismatch_rate = max(rates) if rates else None
    return overview


def location_alerts(*, location) -> list:
    """Alert incidents sent about this location, newest first."""
    return list(AlertIncident.objects.filter(locations=location).order_by("-sent_at")[:RECENT])
