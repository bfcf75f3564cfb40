from datetime import timedelta
from unittest import mock

import pytest
from django.db.models.functions import Now
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from integrations.ghl.errors import GhlInvalid, GhlServerError
from integrations.models import Job
from integrations.sync import jobs as job_services
from integrations.sync.jobs import (
    job_checkpoint,
    job_claim,
    job_enqueue,
    job_rerun,
    job_run,
    jobs_dispatch_due,
    jobs_enqueue,
    jobs_send,
)
from portal.models import AuditEvent

CALLS = []


def ok_handler(job):
    CALLS.append(job.pk)
    return {"created": "hl-1"}


def flaky_handler(job):
    CALLS.append(job.pk)
    raise GhlServerError("HighLevel answered 503", status=503, retry_after=7)


def invalid_handler(job):
    raise GhlInvalid("email is invalid", status=422)


def buggy_handler(job):
    raise KeyError("firstName")


def lost_response_handler(job):
    """Creates once, records the id before acknowledging, then loses the answer once."""
    if "created" not in job.result:
        CALLS.append("create")
        job_checkpoint(job=job, result={"created": f"hl-{job.pk}"})
    if not job.result.get("lost_once"):
        job_checkpoint(job=job, result={"lost_once": True})
        raise KeyError("response lost")
    return {}


@pytest.fixture(autouse=True)
def handlers(monkeypatch):
    CALLS.clear()
    for kind, name in [
        ("action", "ok_handler"),
        ("poll", "flaky_handler"),
        ("resync", "invalid_handler"),
        ("webhook", "buggy_handler"),
        ("rankr_event", "lost_response_handler"),
    ]:
        monkeypatch.setitem(job_services.JOB_HANDLERS, kind, f"tests.integrations.test_jobs.{name}")


def make(kind="action", key="k1", **extra):
    return job_enqueue(kind=kind, idempotency_key=key, **extra)


@pytest.mark.django_db
def test_many_jobs_are_enqueued_at_once_each_key_once(django_capture_on_commit_callbacks):
    existing = make(key="k0")
    with django_capture_on_commit_callbacks() as callbacks:
        jobs = jobs_enqueue(jobs=[dict(kind="action", idempotency_key=f"k{i}") for i in range(3)])
    assert [job.idempotency_key for job in jobs] == ["k0", "k1", "k2"]
    assert jobs[0].pk == existing.pk and Job.objects.count() == 3
    with mock.patch("integrations.sync.jobs.jobs_send") as send:
        for callback in callbacks:
            callback()
    assert send.call_args.kwargs == {"job_ids": [jobs[1].pk, jobs[2].pk]}  # the new ones, once


def _queued(count):
    """The last ``count`` packages in the broker's queue, whichever broker this run uses."""
    from django_q.brokers import get_broker
    from django_q.brokers.redis_broker import Redis

    broker = get_broker()
    if isinstance(broker, Redis):
        return [p.decode() for p in broker.connection.lrange(broker.list_key, -count, -1)]
    return [row.payload for row in OrmQ.objects.order_by("pk")][-count:]


@pytest.mark.django_db
def test_jobs_reach_the_broker_together_and_their_successes_are_not_kept_twice():
    jobs = [make(key=f"k{i}") for i in range(3)]
    assert jobs_send(job_ids=[job.pk for job in jobs]) == 3
    tasks = [SignedPackage.loads(package) for package in _queued(3)]
    assert [task["args"] for task in tasks] == [(job.pk,) for job in jobs]
    # The job and its attempts record the run: django-q2 keeps only a failed task.
    assert {task["save"] for task in tasks} == {False}
    assert Job.objects.filter(sent_at__isnull=False).count() == 3


@pytest.mark.django_db
def test_enqueue_is_idempotent_by_key(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = make()
        again = make()
    assert first.pk == again.pk and Job.objects.count() == 1
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_an_unknown_kind_is_refused():
    with pytest.raises(job_services.JobError, match="Unknown job kind"):
        make(kind="teleport")


@pytest.mark.django_db
def test_only_one_claim_wins():
    job = make()
    attempt = job_claim(job_id=job.pk)
    assert attempt.number == 1 and attempt.outcome == "running" and attempt.worker
    assert job_claim(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == "running" and job.attempts == 1 and job.lease_until
    assert job.lease_token == attempt.lease_token == 1


@pytest.mark.django_db
def test_a_successful_run_records_its_result():
    job = make()
    assert job_run(job_id=job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.result == {"created": "hl-1"} and job.finished_at and CALLS == [job.pk]
    assert job_run(job_id=job.pk) is None  # a duplicate delivery does nothing


@pytest.mark.django_db
def test_a_transient_error_is_retried_after_retry_after_then_dies():
    job = make(kind="poll", max_attempts=2)
    before = timezone.now()
    assert job_run(job_id=job.pk) == "queued"
    job.refresh_from_db()
    assert job.error_class == "GhlServerError"
    assert timedelta(seconds=6) < job.next_attempt_at - before < timedelta(seconds=9)
    assert job_run(job_id=job.pk) is None  # not due yet
    # Due now on the database's clock, the one the claim reads (SQLite's keeps milliseconds).
    Job.objects.filter(pk=job.pk).update(next_attempt_at=Now())
    assert job_run(job_id=job.pk) == "dead"
    job.refresh_from_db()
    assert job.attempts == 2 and job.finished_at


@pytest.mark.django_db
@pytest.mark.parametrize("kind, error", [("resync", "GhlInvalid"), ("webhook", "KeyError")])
def test_permanent_errors_and_bugs_fail_without_retry(kind, error):
    job = make(kind=kind)
    assert job_run(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.error_class == error and job.attempts == 1 and job.next_attempt_at is None


def test_backoff_grows_and_is_capped():
    assert 15 <= job_services.job_backoff(attempts=1) <= 30
    assert 60 <= job_services.job_backoff(attempts=3) <= 120
    assert job_services.job_backoff(attempts=30) <= job_services.RETRY_CAP_SECONDS
    assert job_services.job_backoff(attempts=1, retry_after=4) == 4


def test_backoff_starts_from_the_operators_base(settings):
    settings.JOB_RETRY_BASE_S = 4
    assert 2 <= job_services.job_backoff(attempts=1) <= 4
    assert 8 <= job_services.job_backoff(attempts=3) <= 16


@pytest.mark.django_db
def test_rerun_keeps_the_key_and_creates_nothing_twice(role_users):
    job = make(kind="rankr_event")
    assert job_run(job_id=job.pk) == "failed"  # the answer was lost after the create
    assert job_rerun(job_ids=[job.pk], user_id=role_users["support"].pk) == 1
    job.refresh_from_db()
    assert job.status == "queued" and job.reruns == 1 and job.idempotency_key == "k1"
    assert job_run(job_id=job.pk) == "succeeded"
    assert CALLS == ["create"]
    event = AuditEvent.objects.get(action="job.rerun")
    assert event.actor == role_users["support"] and event.target == f"job {job.pk}"


@pytest.mark.django_db
def test_rerun_leaves_jobs_that_did_not_fail_alone(role_users):
    job = make()
    assert job_rerun(job_ids=[job.pk], user_id=role_users["support"].pk) == 0


@pytest.mark.django_db
def test_the_tick_recovers_jobs_of_dead_workers_and_sends_due_ones(monkeypatch):
    sent = []
    monkeypatch.setattr(job_services, "job_send", lambda job_id: sent.append(job_id) or True)
    stuck = make(key="stuck")
    job_claim(job_id=stuck.pk)
    Job.objects.filter(pk=stuck.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    waiting = make(key="waiting")
    Job.objects.filter(pk=waiting.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    assert jobs_dispatch_due() == 1
    assert sent == [stuck.pk]
    stuck.refresh_from_db()
    assert stuck.status == "queued" and stuck.error_class == "WorkerLost"
    assert stuck.attempt_rows.get().outcome == "worker_lost"


@pytest.mark.django_db(transaction=True)
def test_jobs_run_through_the_queue(q_sync):
    job = make()
    job.refresh_from_db()
    assert job.status == "succeeded"


def test_support_sees_rerun_and_auditor_does_not(client, role_users, locations):
    Job.objects.create(kind="action", status="failed", location=locations["A"], idempotency_key="x")
    for role, offered in [("support", True), ("auditor", False), ("staff", False)]:
        client.force_login(role_users[role])
        page = client.get("/admin/integrations/job/")
        assert page.status_code == 200
        assert (b'value="rerun"' in page.content) is offered, role


@pytest.mark.django_db
def test_the_job_attempt_cap_applies_to_every_kind(settings):
    settings.JOB_MAX_ATTEMPTS = 1
    job = make(kind="poll", max_attempts=3)
    assert job.max_attempts == 1
    assert job_run(job_id=job.pk) == "dead"
