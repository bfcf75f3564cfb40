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
from typing import Any

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Case, Field, Q, QuerySet, Value, When
from django.db.models.functions import Cast

from integrations.sync.jobs import job_enqueue, jobs_enqueue
from integrations.sync.leases import db_now
from integrations.sync.models import Job, Subscription

BATCH = 500  # subscriptions claimed per transaction


def subscription_lease_s() -> int:
    """How long a dispatcher's claim holds while its job waits in the queue: twice the worker's
    task timeout. Once the job runs, its heartbeat holds the claim for ``JOB_LEASE_S`` at a time;
    a job taken up after its worker died finds the claim still its own, or skips, superseded."""
    return 2 * int(settings.Q_CLUSTER["timeout"])


def subscriptions_due(*, now: datetime) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(enabled=True, paused=False)
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .filter(_free(now))
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
    claimed = (
        Subscription.objects.filter(pk=subscription.pk)
        .filter(_free(now))
        .update(claimed_until=_lease(now), next_run_at=_following(subscription, now=now, due=due))
    )
    if claimed != 1:
        return None
    job = job_enqueue(**_job_spec(subscription, due=due, reason=reason))
    Subscription.objects.filter(pk=subscription.pk).update(claimed_job=job)
    return job


class _Contended(Exception):
    """Another dispatcher claimed some of a batch between its read and its claim."""


def subscriptions_claim(*, subscriptions: list[Subscription], now: datetime) -> int:
    """Claim a batch of due subscriptions (rows read just before, locked where the database can)
    and enqueue their jobs, with a fixed number of statements whatever the batch's size: one read
    of the job keys that exist, one insert of the jobs, one conditional update of the claims, one
    hand-over to the broker after commit. Call in a transaction. Returns how many were claimed.

    When another dispatcher took some of them in between (only where rows are not locked), the
    batch is undone and each subscription is claimed on its own.
    """
    if not subscriptions:
        return 0
    try:
        with transaction.atomic():  # a savepoint: a contended batch leaves nothing behind
            dues = [s.next_run_at or now for s in subscriptions]
            jobs = jobs_enqueue(
                jobs=[
                    _job_spec(s, due=due, reason="scheduled")
                    for s, due in zip(subscriptions, dues, strict=True)
                ]
            )
            claimed = (
                Subscription.objects.filter(pk__in=[s.pk for s in subscriptions])
                .filter(_free(now))
                .update(
                    claimed_until=_lease(now),
                    next_run_at=_per_row(
                        "next_run_at",
                        {
                            s.pk: _following(s, now=now, due=due)
                            for s, due in zip(subscriptions, dues, strict=True)
                        },
                    ),
                    claimed_job_id=_per_row(
                        "claimed_job",
                        {s.pk: job.pk for s, job in zip(subscriptions, jobs, strict=True)},
                    ),
                )
            )
            if claimed != len(subscriptions):
                raise _Contended
    except _Contended:
        return sum(
            subscription_claim(subscription=s, now=now, due=s.next_run_at or now) is not None
            for s in subscriptions
        )
    return claimed


def _free(now: datetime) -> Q:
    """Not held by a dispatcher's claim or a running job."""
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def _lease(now: datetime) -> datetime:
    return now + timedelta(seconds=subscription_lease_s())


def _following(subscription: Subscription, *, now: datetime, due: datetime) -> datetime:
    """The due time after ``due``; a subscription that fell behind (paused, worker down) gets no
    burst of catch-up runs."""
    interval = timedelta(minutes=subscription.interval_minutes)
    following = due + interval
    return following if following > now else now + interval


def _per_row(name: str, values: dict[int, Any]) -> Case | Cast:
    """A value of the subscription's field ``name`` per primary key, for one ``update()`` of many
    rows (as ``bulk_update`` writes it, typed where the database needs it)."""
    field = Subscription._meta.get_field(name)
    if not isinstance(field, Field):  # pragma: no cover - a column of the model, by name
        raise TypeError(f"Subscription.{name} is not a column.")
    case = Case(
        *(When(pk=pk, then=Value(value, output_field=field)) for pk, value in values.items()),
        output_field=field,
    )
    return (
        Cast(case, output_field=field)
        if db_connection.features.requires_casted_case_in_updates
        else case
    )


def _job_spec(subscription: Subscription, *, due: datetime, reason: str) -> dict[str, Any]:
    return dict(
        kind=subscription_job_kind(subscription),
        idempotency_key=f"subscription:{subscription.pk}:{reason}:{due.isoformat()}",
        location_id=subscription.location_id,
        connection_id=subscription.connection_id,
        operation=subscription.operation,
        subject=f"subscription {subscription.pk}",
        params={"subscription_id": subscription.pk, "due": due.isoformat(), "reason": reason},
    )


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
            dispatched += subscriptions_claim(subscriptions=rows, now=now)
        if len(rows) < BATCH:
            break
    return dispatched
