from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule

from integrations.interfaces import tasks
from integrations.models import Connection, Job, Subscription
from integrations.sync.jobs import job_enqueue
from integrations.sync.subscriptions import subscriptions_dispatch
from integrations.sync.subscriptions.dispatch import subscription_lease_s, subscriptions_claim


def many(make_subscription, count, **fields):
    first = make_subscription(**fields)
    rows = [
        Subscription(
            **{
                f.attname: getattr(first, f.attname)
                for f in Subscription._meta.concrete_fields
                if f.name != "id"
            }
        )
        for _ in range(count - 1)
    ]
    Subscription.objects.bulk_create(rows)
    return Subscription.objects.order_by("pk")


@pytest.mark.django_db
def test_it_enqueues_one_job_per_due_subscription_and_claims_it(make_subscription):
    now = timezone.now()
    subs = many(make_subscription, 30)
    Subscription.objects.filter(pk__in=[s.pk for s in subs[:10]]).update(
        next_run_at=now + timedelta(minutes=3)
    )
    assert subscriptions_dispatch(now=now) == 20
    assert Job.objects.count() == 20
    claimed = Subscription.objects.filter(claimed_job__isnull=False)
    assert claimed.count() == 20
    for sub in claimed:
        assert sub.claimed_job.params["subscription_id"] == sub.pk
        assert sub.claimed_until == now + timedelta(seconds=subscription_lease_s())
        assert sub.next_run_at == now + timedelta(minutes=sub.interval_minutes)
    # Claimed subscriptions are not due again while their run holds them.
    assert subscriptions_dispatch(now=now + timedelta(minutes=6)) == 10
    assert Job.objects.count() == 30


@pytest.mark.django_db
def test_a_subscription_never_gets_two_runs_at_once(make_subscription):
    now = timezone.now()
    subscription = make_subscription()
    assert subscriptions_dispatch(now=now) == 1
    # Due again by the clock, but the first run still holds it.
    for minutes in (5, 10, 15):
        assert subscriptions_dispatch(now=now + timedelta(minutes=minutes)) == 0
    # Its lease lapses (the worker died and nobody recovered it): it may run again.
    later = now + timedelta(seconds=subscription_lease_s() + 1)
    assert subscriptions_dispatch(now=later) == 1
    assert Job.objects.filter(subject=f"subscription {subscription.pk}").count() == 2


@pytest.mark.django_db
def test_the_job_key_is_per_subscription_and_due_time(make_subscription):
    now = timezone.now()
    subscription = make_subscription()
    Subscription.objects.filter(pk=subscription.pk).update(next_run_at=now)
    subscriptions_dispatch(now=now)
    job = Job.objects.get()
    assert job.idempotency_key == f"subscription:{subscription.pk}:scheduled:{now.isoformat()}"
    assert job.kind == Job.Kind.BACKFILL  # never backfilled yet
    Subscription.objects.filter(pk=subscription.pk).update(
        claimed_until=None, backfill_finished_at=now
    )
    subscriptions_dispatch(now=now + timedelta(minutes=5))
    assert Job.objects.order_by("-pk").first().kind == Job.Kind.POLL


@pytest.mark.django_db
def test_paused_and_disabled_subscriptions_wait(make_subscription):
    subs = many(make_subscription, 3)
    Subscription.objects.filter(pk=subs[0].pk).update(paused=True)
    Subscription.objects.filter(pk=subs[1].pk).update(enabled=False)
    assert subscriptions_dispatch() == 1
    assert Subscription.objects.get(claimed_job__isnull=False).pk == subs[2].pk


@pytest.mark.django_db
def test_a_late_subscription_runs_once_not_once_per_missed_interval(make_subscription):
    now = timezone.now()
    subscription = make_subscription(interval_minutes=1)
    Subscription.objects.filter(pk=subscription.pk).update(next_run_at=now - timedelta(hours=2))
    assert subscriptions_dispatch(now=now) == 1
    subscription.refresh_from_db()
    assert subscription.next_run_at == now + timedelta(minutes=1)


@pytest.mark.django_db
def test_the_tick_dispatches_without_a_schedule_per_subscription(make_subscription):
    many(make_subscription, 50)
    schedules = Schedule.objects.count()
    with mock.patch("integrations.sync.jobs.jobs_send") as send:
        tasks.tick_task()
    assert Job.objects.count() == 50
    assert Schedule.objects.count() == schedules
    assert Schedule.objects.filter(func="integrations.interfaces.tasks.tick_task").count() == 1
    assert send.call_count == 0  # jobs go to the worker only when the transaction commits


@pytest.mark.django_db(transaction=True)
def test_jobs_reach_the_worker_after_the_claim_commits(make_subscription):
    many(make_subscription, 3)
    with mock.patch("integrations.sync.jobs.jobs_send") as send:
        subscriptions_dispatch()
    assert sorted(i for c in send.call_args_list for i in c.kwargs["job_ids"]) == sorted(
        Job.objects.values_list("pk", flat=True)
    )


@pytest.mark.django_db
def test_run_now_from_a_host_whose_clock_is_ahead_does_not_take_a_held_subscription(
    make_subscription,
):
    """A running job holds its subscription for JOB_LEASE_S on the database's clock. *Run now*
    on a host whose clock is 20 s ahead must not see that claim as lapsed and start a second run
    beside it (it compared the claim with the host's clock)."""
    from django.db.models.functions import Now

    from integrations.sync.leases import lease_end
    from integrations.sync.subscriptions import subscription_run_now
    from portal.clock import clock_offset_install

    subscription = make_subscription()
    running = Job.objects.create(kind=Job.Kind.POLL, idempotency_key="running", status="running")
    Subscription.objects.filter(pk=subscription.pk).update(
        claimed_job=running, claimed_until=lease_end(seconds=15), next_run_at=Now()
    )
    clock_offset_install(seconds=20)
    try:
        with mock.patch("integrations.sync.jobs.job_send"):
            assert subscription_run_now(subscription_id=subscription.pk, user_id=None) is None
    finally:
        clock_offset_install(seconds=0)
    held = Subscription.objects.get(pk=subscription.pk)
    assert held.claimed_job_id == running.pk
    assert Job.objects.filter(subject=f"subscription {subscription.pk}").count() == 0


def _dispatch_queries(count):
    Subscription.objects.update(claimed_until=None, claimed_job=None, next_run_at=None)
    with CaptureQueriesContext(connection) as queries:
        assert subscriptions_dispatch() == count
    return len(queries)


@pytest.mark.django_db
def test_a_batch_is_claimed_with_the_same_queries_however_many_are_due(make_subscription):
    many(make_subscription, 3)
    few = _dispatch_queries(3)
    many(make_subscription, 40)
    # No query per subscription (SQLite splits a long insert by its limit on parameters).
    assert _dispatch_queries(43) <= few + 2


@pytest.mark.django_db
def test_a_batch_another_dispatcher_took_part_of_is_claimed_one_by_one(make_subscription):
    now = timezone.now()
    read = list(many(make_subscription, 4))  # as a dispatcher read them, all free
    taken = read[1]
    Subscription.objects.filter(pk=taken.pk).update(claimed_until=now + timedelta(minutes=1))
    with transaction.atomic():
        assert subscriptions_claim(subscriptions=read, now=now) == 3
    assert Job.objects.count() == 3  # the batch's jobs were undone, then made one by one
    assert not Job.objects.filter(subject=f"subscription {taken.pk}").exists()
    taken.refresh_from_db()
    assert taken.claimed_job_id is None
    for sub in Subscription.objects.exclude(pk=taken.pk):
        assert sub.claimed_job.params["subscription_id"] == sub.pk


@pytest.mark.django_db
def test_a_due_time_already_enqueued_keeps_its_job(make_subscription):
    now = timezone.now()
    subscription = make_subscription()
    Subscription.objects.filter(pk=subscription.pk).update(next_run_at=now)
    existing = job_enqueue(
        kind=Job.Kind.POLL,
        idempotency_key=f"subscription:{subscription.pk}:scheduled:{now.isoformat()}",
    )
    assert subscriptions_dispatch(now=now) == 1
    assert Job.objects.get() == existing
    subscription.refresh_from_db()
    assert subscription.claimed_job_id == existing.pk


@pytest.mark.django_db(transaction=True)
def test_runs_for_a_connection_that_needs_reauth_fail_at_once_unsent(make_subscription):
    subs = many(make_subscription, 3)
    Connection.objects.filter(pk=subs[0].connection_id).update(
        status=Connection.Status.NEEDS_REAUTH
    )
    with mock.patch("integrations.sync.jobs.jobs_send") as send:
        assert subscriptions_dispatch() == 3
    assert set(Job.objects.values_list("status", "error_class")) == {
        (Job.Status.FAILED, "GhlReauthRequired")
    }
    assert not send.called
