"""The job bookkeeping's statements, composed once (integrations/sync/job_statements.py), and the
per-process heartbeat: what they write is what the ORM wrote, in fewer statements, with no thread
started per job."""

import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection as db
from django.db.models import F
from django.test.utils import CaptureQueriesContext, override_settings

from integrations.models import Job, JobAttempt, Subscription
from integrations.sync import job_runs
from integrations.sync.job_statements import (
    DB_NOW,
    INCREMENT,
    DbNow,
    job_claim_row,
    row_select,
    row_update_where,
)
from integrations.sync.jobs import job_enqueue, job_on_heartbeat, job_run
from integrations.sync.leases import db_now
from integrations.sync.subscriptions.run import RUN_RELATED
from tests.integrations.subscriptions.conftest import run_once

STATE: dict[str, object] = {}


def _values(instance):
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def make(key="k1", kind="action", **extra):
    with mock.patch("integrations.sync.jobs.job_send"):
        return job_enqueue(kind=kind, idempotency_key=key, **extra)


@pytest.fixture
def subscriptions_ready(fake, make_subscription):
    fake.add(3)
    return make_subscription()


@pytest.mark.django_db
def test_a_subscription_is_read_as_select_related_reads_it_in_one_statement(subscriptions_ready):
    expected = Subscription.objects.select_related(*RUN_RELATED).get(pk=subscriptions_ready.pk)
    with CaptureQueriesContext(db) as queries:
        found = row_select(model=Subscription, pk=subscriptions_ready.pk, related=RUN_RELATED)
        assert _values(found) == _values(expected)
        for path in RUN_RELATED:
            mine, theirs = found, expected
            for name in path.split("__"):
                mine, theirs = getattr(mine, name), getattr(theirs, name)
            assert _values(mine) == _values(theirs)
        assert found.connection.access_token == expected.connection.access_token
    assert len(queries) == 1
    assert not found._state.adding
    with pytest.raises(Subscription.DoesNotExist):
        row_select(model=Subscription, pk=subscriptions_ready.pk + 1000, related=RUN_RELATED)


@pytest.mark.django_db
def test_a_name_that_is_no_field_of_the_model_never_reaches_the_sql():
    job = make()
    hostile = "status\" = 'x'; DROP TABLE integrations_job; --"
    with CaptureQueriesContext(db) as queries:
        with pytest.raises(ValueError, match="no concrete field"):
            row_update_where(model=Job, where={"pk": job.pk}, values={hostile: 1})
        with pytest.raises(ValueError, match="no concrete field"):
            row_update_where(model=Job, where={hostile: 1}, values={"status": "queued"})
        with pytest.raises(TypeError):
            row_select(model=Job, pk=job.pk, related=("params",))
        with pytest.raises(TypeError, match="expression"):
            row_update_where(model=Job, where={"pk": job.pk}, values={"attempts": F("attempts")})
    assert len(queries) == 0
    assert Job.objects.filter(pk=job.pk).exists()


@pytest.mark.django_db
def test_a_conditional_update_writes_values_the_clock_and_increments_only_where_it_matches():
    job = make()
    assert (
        row_update_where(
            model=Job, where={"pk": job.pk, "status": "running"}, values={"attempts": 5}
        )
        == 0
    )
    written = row_update_where(
        model=Job,
        where={"pk": job.pk, "status": Job.Status.QUEUED},
        values={
            "result": {"a": [1, "é"]},
            "started_at": DB_NOW,
            "lease_until": DbNow(42),
            "attempts": INCREMENT,
        },
    )
    assert written == 1
    job.refresh_from_db()
    now = db_now()
    assert job.result == {"a": [1, "é"]} and job.attempts == 1
    assert abs((job.started_at - now).total_seconds()) < 2
    assert abs((job.lease_until - job.started_at).total_seconds() - 42) < 0.5
    with pytest.raises(ValueError, match="None"):
        row_update_where(model=Job, where={"location": None}, values={"attempts": 1})


@pytest.mark.django_db
def test_the_claim_reads_the_job_back_and_numbers_its_attempt_after_the_last(location):
    job = make(location_id=location.pk)
    JobAttempt.objects.create(job=job, number=1, lease_token=1, started_at=db_now())
    JobAttempt.objects.create(job=job, number=2, lease_token=2, started_at=db_now())
    Job.objects.filter(pk=job.pk).update(lease_token=2)
    with CaptureQueriesContext(db) as queries:
        attempt = job_runs.job_claim(job_id=job.pk)
    assert len([q for q in queries if "SAVEPOINT" not in q["sql"]]) == 2  # the claim, the attempt
    assert job_runs.job_claim(job_id=job.pk) is None  # exactly one caller claims it
    job.refresh_from_db()
    assert (job.status, job.attempts, job.lease_token) == (Job.Status.RUNNING, 1, 3)
    stored = JobAttempt.objects.get(pk=attempt.pk)
    assert (stored.number, stored.lease_token, stored.outcome) == (3, 3, "running")
    assert stored.started_at == job.started_at == attempt.started_at
    assert stored.worker == job_runs.worker_name() and stored.error_message == ""
    # Read back as the ORM reads it, with its location's HighLevel id for the log context.
    Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED)
    claimed, ghl_id = job_claim_row(job_id=job.pk, lease_s=30)
    assert ghl_id == location.location_id
    assert _values(claimed) == _values(Job.objects.get(pk=job.pk))


@pytest.mark.django_db
def test_a_job_not_yet_due_is_not_claimed():
    job = make()
    Job.objects.filter(pk=job.pk).update(next_attempt_at=db_now() + timedelta(minutes=5))
    assert job_runs.job_claim(job_id=job.pk) is None
    assert not JobAttempt.objects.filter(job=job).exists()


@pytest.mark.django_db
def test_a_poll_over_an_unchanged_location_takes_few_statements(subscriptions_ready):
    run_once(subscriptions_ready)  # the backfill
    from integrations.sync.subscriptions import subscription_run_now

    job = subscription_run_now(subscription_id=subscriptions_ready.pk, user_id=None)
    with CaptureQueriesContext(db) as queries:
        assert job_run(job_id=job.pk) == "succeeded"
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    # 21 before: the job read again after its claim, its attempt number read apart, the
    # subscription's outcome fenced and written apart from the job's.
    assert len(statements) <= 18, "\n".join(statements)
    subscriptions_ready.refresh_from_db()
    assert subscriptions_ready.last_run_outcome == Subscription.Outcome.SUCCEEDED
    assert subscriptions_ready.claimed_job is None and subscriptions_ready.claimed_until is None


def slow_handler(job):
    before = Job.objects.get(pk=job.pk).lease_until
    renewals: list[int] = []
    job_on_heartbeat(job=job, renew=lambda: renewals.append(1))
    deadline = time.monotonic() + 10
    while not renewals and time.monotonic() < deadline:
        time.sleep(0.1)
    after = Job.objects.get(pk=job.pk).lease_until
    return {"renewed": len(renewals), "extended": after > before}


def quick_handler(job):
    return {"quick": True}


@pytest.mark.django_db(transaction=True)
def test_a_long_job_is_renewed_and_short_ones_start_no_thread_each(monkeypatch):
    monkeypatch.setitem(
        job_runs.JOB_HANDLERS,
        "action",
        "tests.integrations.subscriptions.test_job_statements.slow_handler",
    )
    monkeypatch.setitem(
        job_runs.JOB_HANDLERS,
        "webhook",
        "tests.integrations.subscriptions.test_job_statements.quick_handler",
    )
    with override_settings(JOB_HEARTBEAT_S=1, JOB_LEASE_S=2):
        slow = make("slow")
        assert job_run(job_id=slow.pk) == "succeeded"
        slow.refresh_from_db()
        assert slow.result["renewed"] >= 1 and slow.result["extended"] is True
        threads = threading.active_count()
        for n in range(5):
            quick = make(f"quick{n}", kind="webhook")
            assert job_run(job_id=quick.pk) == "succeeded"
        assert threading.active_count() <= threads
    beaters = [t for t in threading.enumerate() if t.name == "job-heartbeats"]
    assert len(beaters) == 1  # one per process, shared by every job it runs
