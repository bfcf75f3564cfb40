"""The dispatcher: claim due subscriptions and enqueue one poll job each, in one transaction.

Runs from the scheduler tick, so thousands of subscriptions need no django-q2 schedule each. A
subscription is claimed with a lease (``claimed_until``) by a conditional update, which works on
SQLite as well; on PostgreSQL the due rows are also locked with ``SKIP LOCKED`` so two
dispatchers running at once split the work instead of queueing behind each other. The claim, the
job (idempotency key per subscription and due time) and the link between them commit together:
a crash leaves either all three or none. Due times and claims are read on the database's clock
(one reading per round), so dispatchers on hosts whose clocks differ agree.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q, QuerySet

from integrations.sync.jobs import job_enqueue
from integrations.sync.leases import db_now
from integrations.sync.models import Job, Subscription

BATCH = 200  # subscriptions claimed per transaction


def subscription_lease_s() -> int:
    """How long a dispatcher's claim holds while its job waits in the queue: twice the worker's
    task timeout. Once the job runs, its heartbeat holds the claim for ``JOB_LEASE_S`` at a time;
    a job taken up after its worker died finds the claim still its own, or skips, superseded."""
    return 2 * int(settings.Q_CLUSTER["timeout"])


def subscriptions_due(*, now: datetime) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(enabled=True, paused=False)
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    )


def subscription_job_kind(subscription: Subscription) -> str:
    if subscription.backfill_finished_at is None or subscription.full_pass_requested:
        return Job.Kind.BACKFILL
    if subscription.cursor.get("full"):  # a full pass is in progress: finish it as one
        return Job.Kind.BACKFILL
    return Job.Kind.POLL


def subscription_claim(
    *, subscription: Subscription, now: datetime, due: datetime, reason: str = "scheduled"
) -> Job | None:
    """Claim ``subscription`` (a row read just before) and enqueue its job. Call in a transaction.

    Returns the job, or None when the subscription was claimed by someone else meanwhile.
    """
    lease = now + timedelta(seconds=subscription_lease_s())
    interval = timedelta(minutes=subscription.interval_minutes)
    following = due + interval
    if following <= now:  # fell behind (paused, worker down): no burst of catch-up runs
        following = now + interval
    claimed = (
        Subscription.objects.filter(pk=subscription.pk)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=lease, next_run_at=following)
    )
    if claimed != 1:
        return None
    kind = subscription_job_kind(subscription)
    job = job_enqueue(
        kind=kind,
        idempotency_key=f"subscription:{subscription.pk}:{reason}:{due.isoformat()}",
        location_id=subscription.location_id,
        connection_id=subscription.connection_id,
        operation=subscription.operation,
        subject=f"subscription {subscription.pk}",
        params={"subscription_id": subscription.pk, "due": due.isoformat(), "reason": reason},
    )
    Subscription.objects.filter(pk=subscription.pk).update(claimed_job=job)
    return job


def subscriptions_dispatch(*, now: datetime | None = None, limit: int = 10_000) -> int:
    """Claim every due subscription (up to ``limit``) and enqueue its run. Returns how many."""
    now = now or db_now()
    skip_locked = db_connection.features.has_select_for_update_skip_locked
    dispatched = 0
    while dispatched < limit:
        with transaction.atomic():
            due = subscriptions_due(now=now).order_by("next_run_at", "pk")
            if skip_locked:
                due = due.select_for_update(skip_locked=True, of=("self",))
            rows = list(
                due.only(
                    "pk",
                    "location_id",
                    "connection_id",
                    "operation",
                    "interval_minutes",
                    "next_run_at",
                    "backfill_finished_at",
                    "full_pass_requested",
                    "cursor",
                )[: min(BATCH, limit - dispatched)]
            )
            if not rows:
                break
            for subscription in rows:
                if subscription_claim(
                    subscription=subscription, now=now, due=subscription.next_run_at or now
                ):
                    dispatched += 1
        if len(rows) < BATCH:
            break
    return dispatched
