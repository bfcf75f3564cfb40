"""The portal's Prometheus series, computed from the database when scraped.

Nothing is counted in a process's memory: every gunicorn worker answers a scrape with the same
figures, read from the tables (a handful of grouped queries, never one per location), so the
endpoint needs no multiprocess directory and survives restarts. Labels are bounded by what the
portal holds: ``location`` is the HighLevel location id, ``subscription`` the subscription's id,
``entity``, ``kind``, ``outcome``, ``component`` and ``host`` come from short fixed lists.

Series (all gauges; ages in seconds):

- ``portal_subscription_freshness_seconds{location,subscription,trigger}``: since the
  subscription's last successful run (since it was created, when it never succeeded); enabled,
  unpaused subscriptions only. ``portal_location_freshness_seconds{location}``: the worst of them.
- ``portal_coverage_age_seconds{location,entity}``: since every record was last confirmed by a
  complete reconciliation walk (entities that had one).
- ``portal_verified_mismatch_ratio{location,entity}``: the latest verification's mismatch rate
  (verifications of the last 7 days).
- ``portal_budget_used_requests{location}`` and ``portal_budget_used_ratio{location}``: HighLevel
  requests counted today by the rate limiter (UTC day), and their share of
  ``portal_budget_daily_limit_requests``.
- ``portal_jobs_queued{kind}``, ``portal_jobs_due{kind}``, ``portal_jobs_running{kind}``,
  ``portal_jobs_oldest_due_age_seconds{kind}`` (the queue's oldest job due to run, not one
  waiting for its retry time) and ``portal_location_jobs_queued{location}``.
- ``portal_job_attempts{kind,outcome}``: attempts started in the last ``METRICS_WINDOW_S``
  (``running``: not ended yet).
- ``portal_webhook_lag_seconds{stat}`` (``avg``, ``max``) from received to processed, of the events
  received in the window, ``portal_webhook_events_unprocessed`` and ``portal_webhook_oldest_unprocessed_age_seconds``.
- ``portal_heartbeat_age_seconds{component,host}`` (the host's newest beat),
  ``portal_heartbeat_processes{component,state}`` (``live``, ``stale``) and
  ``portal_component_up{component}`` (1 while healthy).
- ``portal_metrics_scrape_seconds``: how long this collection took.
"""

import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, Q
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

from integrations.ghl.models import Connection, RateBucket
from integrations.ghl.ratelimit import ratelimit_key
from integrations.sync.heartbeats import heartbeats_status
from integrations.sync.leases import db_now
from integrations.sync.models import (
    EntityCoverage,
    Job,
    JobAttempt,
    Subscription,
    Verification,
    WebhookEvent,
)
from portal.models import Location

VERIFIED_WITHIN = timedelta(days=7)  # older verifications are history, not the current rate
WEBHOOK_LAG_SAMPLE = 10_000  # the newest processed events the lag is measured over, at most
DONE = (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED, WebhookEvent.Status.FAILED)


def _age(now: datetime, then: datetime) -> float:
    return max((now - then).total_seconds(), 0.0)


def _gauge(name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


class PortalCollector:
    """A prometheus_client collector whose ``collect`` reads the database (see module doc)."""

    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        now = db_now()
        names = dict(Location.objects.values_list("pk", "location_id"))
        yield from _freshness(now, names)
        yield from _coverage(now, names)
        yield from _verified(now, names)
        yield from _budget(names)
        yield from _queue(now, names)
        yield from _outcomes(now)
        yield from _webhooks(now)
        yield from _heartbeats(now)
        took = _gauge("portal_metrics_scrape_seconds", "Seconds this collection took.")
        took.add_metric([], time.monotonic() - started)
        yield took


def _freshness(now: datetime, names: dict[int, str]) -> Iterator[Metric]:
    per = _gauge(
        "portal_subscription_freshness_seconds",
        "Seconds since the subscription's last successful run (since created, if never).",
        ["location", "subscription", "trigger"],
    )
    worst: dict[str, float] = {}
    for pk, location_id, trigger, success, created in Subscription.objects.filter(
        enabled=True, paused=False
    ).values_list("pk", "location_id", "trigger", "last_success_at", "created_at"):
        location = names.get(location_id, str(location_id))
        age = _age(now, success or created)
        per.add_metric([location, str(pk), trigger], age)
        worst[location] = max(worst.get(location, 0.0), age)
    stalest = _gauge(
        "portal_location_freshness_seconds",
        "The location's stalest enabled subscription: seconds since its last success.",
        ["location"],
    )
    for name, age in sorted(worst.items()):
        stalest.add_metric([name], age)
    yield per
    yield stalest


def _coverage(now: datetime, names: dict[int, str]) -> Iterator[Metric]:
    family = _gauge(
        "portal_coverage_age_seconds",
        "Seconds since every record of the entity was last confirmed by a complete walk.",
        ["location", "entity"],
    )
    for location_id, entity, since in EntityCoverage.objects.filter(
        last_full_pass_at__isnull=False
    ).values_list("location_id", "entity", "last_full_pass_at"):
        if since is not None:
            family.add_metric([names.get(location_id, str(location_id)), entity], _age(now, since))
    yield family


def _verified(now: datetime, names: dict[int, str]) -> Iterator[Metric]:
    family = _gauge(
        "portal_verified_mismatch_ratio",
        "The latest verification's mismatch rate (0 to 1) per location and entity (7 days).",
        ["location", "entity"],
    )
    recent = Verification.objects.filter(measured_at__gte=now - VERIFIED_WITHIN)
    latest = recent.values("location_id", "entity").annotate(last=Max("pk"))
    for location_id, entity, rate in Verification.objects.filter(
        pk__in=[row["last"] for row in latest]
    ).values_list("location_id", "entity", "mismatch_rate"):
        family.add_metric([names.get(location_id, str(location_id)), entity], rate)
    yield family


def _budget(names: dict[int, str]) -> Iterator[Metric]:
    limit = settings.GHL_RATE_LIMIT_DAILY
    keys: dict[str, str] = {}
    # A location's connection counts against the location's HighLevel id (Connection.resource_id).
    for app_id, location_id in Connection.objects.filter(location_id__isnull=False).values_list(
        "app_id", "location_id"
    ):
        if location_id in names:
            location = names[location_id]
            keys[ratelimit_key(app_id=app_id, resource_id=location)] = location
    today = datetime.now(tz=UTC).date()  # the rate limiter's day
    used: dict[str, int] = {}
    for key, day, count in RateBucket.objects.filter(key__in=keys).values_list(
        "key", "day", "day_count"
    ):
        location = keys[key]
        used[location] = used.get(location, 0) + (count if day == today else 0)
    requests = _gauge(
        "portal_budget_used_requests",
        "HighLevel requests the rate limiter counted today for the location (all its apps).",
        ["location"],
    )
    ratio = _gauge(
        "portal_budget_used_ratio",
        "Today's requests over the daily budget (portal_budget_daily_limit_requests).",
        ["location"],
    )
    for location, count in sorted(used.items()):
        requests.add_metric([location], count)
        ratio.add_metric([location], count / limit if limit else 0.0)
    daily = _gauge("portal_budget_daily_limit_requests", "HighLevel's daily budget per location.")
    daily.add_metric([], limit)
    yield requests
    yield ratio
    yield daily


def _queue(now: datetime, names: dict[int, str]) -> Iterator[Metric]:
    rows = (
        Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
        .values("kind")
        .annotate(
            queued=Count("pk", filter=Q(status=Job.Status.QUEUED)),
            due=Count(
                "pk",
                filter=Q(status=Job.Status.QUEUED)
                & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)),
            ),
            running=Count("pk", filter=Q(status=Job.Status.RUNNING)),
            oldest_due=Min(
                "queued_at",
                filter=Q(status=Job.Status.QUEUED)
                & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)),
            ),
        )
    )
    by_kind: dict[str, dict[str, Any]] = {row["kind"]: dict(row) for row in rows}
    queued = _gauge("portal_jobs_queued", "Jobs waiting in the queue (due or not).", ["kind"])
    due = _gauge("portal_jobs_due", "Queued jobs due to run now (not waiting to retry).", ["kind"])
    running = _gauge("portal_jobs_running", "Jobs running now.", ["kind"])
    oldest = _gauge(
        "portal_jobs_oldest_due_age_seconds",
        "Seconds the oldest job due to run has been queued (0: none).",
        ["kind"],
    )
    for kind in Job.Kind.values:
        row: dict[str, Any] = by_kind.get(kind, {})
        queued.add_metric([kind], row.get("queued", 0))
        due.add_metric([kind], row.get("due", 0))
        running.add_metric([kind], row.get("running", 0))
        first = row.get("oldest_due")
        oldest.add_metric([kind], _age(now, first) if first else 0.0)
    per_location = _gauge(
        "portal_location_jobs_queued", "Jobs of the location waiting in the queue.", ["location"]
    )
    for item in (
        Job.objects.filter(status=Job.Status.QUEUED, location_id__isnull=False)
        .values("location_id")
        .annotate(n=Count("pk"))
        .order_by("location_id")
    ):
        location_id = item["location_id"]
        per_location.add_metric([names.get(location_id, str(location_id))], item["n"])
    yield from (queued, due, running, oldest, per_location)


def _outcomes(now: datetime) -> Iterator[Metric]:
    window = settings.METRICS_WINDOW_S
    family = _gauge(
        "portal_job_attempts",
        f"Job attempts started in the last {window} s (METRICS_WINDOW_S), by kind and outcome "
        "(running: not ended yet).",
        ["kind", "outcome"],
    )
    # By start (indexed with the outcome), not by end: a scrape stays an index range scan.
    counts = {
        (row["job__kind"], row["outcome"]): row["n"]
        for row in JobAttempt.objects.filter(started_at__gte=now - timedelta(seconds=window))
        .values("job__kind", "outcome")
        .annotate(n=Count("pk"))
    }
    for kind in Job.Kind.values:
        for outcome in JobAttempt.Outcome.values:
            family.add_metric([kind, outcome], counts.get((kind, outcome), 0))
    yield family


def _webhooks(now: datetime) -> Iterator[Metric]:
    window = settings.METRICS_WINDOW_S
    lags = [
        max((processed - received).total_seconds(), 0.0)
        for received, processed in WebhookEvent.objects.filter(
            received_at__gte=now - timedelta(seconds=window), status__in=DONE
        )
        .order_by("-received_at")
        .values_list("received_at", "processed_at")[:WEBHOOK_LAG_SAMPLE]
        if processed is not None
    ]
    lag = _gauge(
        "portal_webhook_lag_seconds",
        f"Seconds from a webhook's receipt to its processing, events received in the last {window} s.",
        ["stat"],
    )
    lag.add_metric(["avg"], sum(lags) / len(lags) if lags else 0.0)
    lag.add_metric(["max"], max(lags) if lags else 0.0)
    processed = _gauge(
        "portal_webhook_events_processed",
        f"Webhook events received in the last {window} s and processed.",
    )
    processed.add_metric([], len(lags))
    waiting = WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).aggregate(
        n=Count("pk"), oldest=Min("received_at")
    )
    unprocessed = _gauge(
        "portal_webhook_events_unprocessed", "Webhook events received and not processed yet."
    )
    unprocessed.add_metric([], waiting["n"])
    oldest = _gauge(
        "portal_webhook_oldest_unprocessed_age_seconds",
        "Seconds the oldest unprocessed webhook event has waited (0: none).",
    )
    oldest.add_metric([], _age(now, waiting["oldest"]) if waiting["oldest"] else 0.0)
    yield from (lag, processed, unprocessed, oldest)


def _heartbeats(now: datetime) -> Iterator[Metric]:
    age = _gauge(
        "portal_heartbeat_age_seconds",
        "Seconds since the newest heartbeat of the component's processes on the host.",
        ["component", "host"],
    )
    processes = _gauge(
        "portal_heartbeat_processes",
        "The component's processes by state (stale: silent past HEARTBEAT_STALE_S).",
        ["component", "state"],
    )
    up = _gauge(
        "portal_component_up", "1 while one of the component's processes beats.", ["component"]
    )
    for component in heartbeats_status(now=now):
        newest: dict[str, float] = {}
        for process in component.processes:
            newest[process.host] = min(newest.get(process.host, process.age_s), process.age_s)
        for host, seconds in sorted(newest.items()):
            age.add_metric([component.component, host], seconds)
        processes.add_metric([component.component, "live"], component.live_processes)
        processes.add_metric([component.component, "stale"], component.stale_processes)
        up.add_metric([component.component], 1.0 if component.healthy else 0.0)
    yield from (age, processes, up)


def metrics_registry() -> CollectorRegistry:
    """A registry holding only the portal's collector (no per-process series)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PortalCollector())
    return registry
