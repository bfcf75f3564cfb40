"""Attempts on record, leases on the database's clock, fencing, support's re-run and retry-now."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone

from integrations.admin.job_display import job_attempt_line
from integrations.ghl.errors import GhlInvalid, GhlServerError
from integrations.models import Job, JobAttempt
from integrations.sync import job_runs
from integrations.sync.jobs import (
    LeaseLost,
    job_checkpoint,
    job_claim,
    job_enqueue,
    job_last_permanent_error,
    job_rerun,
    job_retry_now,
    job_run,
    jobs_dispatch_due,
)
from integrations.sync.leases import db_now

pytestmark = pytest.mark.django_db
STATE = {"fail": None}


def switchable_handler(job):
    if STATE["fail"] == "permanent":
        raise GhlInvalid("email is invalid", status=422, trace_id="trace-422")
    if STATE["fail"] == "transient":
        raise GhlServerError("HighLevel answered 503", status=503, retry_after=40)
    if STATE["fail"] == "database":
        raise OperationalError("consuming input failed: server closed the connection unexpectedly")
    job_checkpoint(job=job, result={"step": 1})
    return {"done": True}


@pytest.fixture(autouse=True)
def handler(monkeypatch):
    STATE["fail"] = None
    # Webhook jobs: what support re-runs (an action job replays a person's act, see
    # tests/security/test_support_rerun.py).
    for kind in ("webhook", "action"):
        monkeypatch.setitem(
            job_runs.JOB_HANDLERS, kind, "tests.integrations.test_job_attempts.switchable_handler"
        )


def make(key="k1", kind="webhook", **extra):
    with mock.patch("integrations.sync.jobs.job_send"):
        return job_enqueue(kind=kind, idempotency_key=key, **extra)


def outcomes(job):
    return list(job.attempt_rows.order_by("number").values_list("outcome", flat=True))


def test_a_re_run_adds_an_attempt_and_keeps_the_failed_one(role_users):
    job = make()
    STATE["fail"] = "permanent"
    assert job_run(job_id=job.pk) == "failed"
    STATE["fail"] = None
    with mock.patch("integrations.sync.jobs.job_send"):
        assert job_rerun(job_ids=[job.pk], user_id=role_users["support"].pk) == 1
    assert job_run(job_id=job.pk) == "succeeded"
    first, second = job.attempt_rows.order_by("number")
    assert (first.outcome, first.error_class, first.permanent) == ("failed", "GhlInvalid", True)
    assert "email is invalid" in first.error_message and first.trace_id == "trace-422"
    assert first.ended_at and first.worker
    assert (second.outcome, second.error_message, second.number) == ("succeeded", "", 2)
    assert second.lease_token > first.lease_token


def test_a_transient_failure_waits_and_says_attempt_n_of_m_next_in(role_users):
    job = make()
    STATE["fail"] = "transient"
    assert job_run(job_id=job.pk) == "queued"
    job.refresh_from_db()
    assert job_run(job_id=job.pk) is None  # not due yet
    Job.objects.filter(pk=job.pk).update(attempts=2)
    job.refresh_from_db()
    line = job_attempt_line(job, now=job.next_attempt_at - timedelta(seconds=40))
    assert line == "attempt 3 of 5, next in 40 s"
    Job.objects.filter(pk=job.pk).update(attempts=0)  # not started yet, its start later
    job.refresh_from_db()
    line = job_attempt_line(job, now=job.next_attempt_at - timedelta(seconds=40))
    assert line == "0 of 5, starts in 40 s"
    Job.objects.filter(pk=job.pk).update(attempts=2)
    job.refresh_from_db()
    attempt = job.attempt_rows.get()
    assert attempt.outcome == "failed" and not attempt.permanent and attempt.retry_at
    with mock.patch("integrations.sync.jobs.job_send"):
        assert job_retry_now(job_id=job.pk, user_id=role_users["support"].pk)
    STATE["fail"] = None
    assert job_run(job_id=job.pk) == "succeeded"
    assert outcomes(job) == ["failed", "succeeded"]


def test_the_lease_is_on_the_database_clock_whatever_the_host_clock_says():
    job = make()
    skewed = timezone.now() + timedelta(seconds=20)
    with mock.patch("django.utils.timezone.now", return_value=skewed):
        attempt = job_claim(job_id=job.pk)
    job.refresh_from_db()
    database = db_now()
    assert abs((attempt.started_at - database).total_seconds()) < 2
    assert abs((job.lease_until - database).total_seconds() - 30) < 2
    # A tick on a host 20 s ahead does not take the live job.
    with (
        mock.patch("django.utils.timezone.now", return_value=skewed),
        mock.patch("integrations.sync.jobs.job_send"),
    ):
        assert jobs_dispatch_due() == 0
    job.refresh_from_db()
    assert job.status == "running"


def test_a_worker_that_lost_its_lease_cannot_write_over_its_successor():
    job = make()
    job_claim(job_id=job.pk)
    stale = Job.objects.get(pk=job.pk)
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    with mock.patch("integrations.sync.jobs.job_send") as send:
        assert jobs_dispatch_due() == 1
    assert send.call_args.kwargs == {"job_id": job.pk}
    assert outcomes(job) == ["worker_lost"]
    successor = job_claim(job_id=job.pk)
    fresh = Job.objects.get(pk=job.pk)
    job_checkpoint(job=fresh, result={"by": "successor"})
    with pytest.raises(LeaseLost):
        job_checkpoint(job=stale, result={"by": "stale"})
    stale.attempt = JobAttempt.objects.get(job=job, number=1)
    assert (
        job_runs._record(stale, stale.attempt, status="succeeded", result={"by": "stale"}) is None
    )
    fresh.refresh_from_db()
    assert fresh.status == "running" and fresh.result == {"by": "successor"}
    assert fresh.lease_token == successor.lease_token == stale.lease_token + 2
    assert outcomes(job) == ["worker_lost", "running"]


def test_a_job_whose_worker_keeps_dying_ends_dead_not_forever_queued():
    job = make(max_attempts=1)
    job_claim(job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    with mock.patch("integrations.sync.jobs.job_send") as send:
        jobs_dispatch_due()
    job.refresh_from_db()
    assert job.status == "dead" and job.error_class == "WorkerLost" and not send.called


def test_the_last_permanent_error_is_found_and_a_transient_one_is_not():
    job = make(kind="action")
    STATE["fail"] = "transient"
    job_run(job_id=job.pk)
    assert job_last_permanent_error(job=job) is None
    # Due now on the database's clock, the one the claim reads (SQLite's keeps milliseconds).
    Job.objects.filter(pk=job.pk).update(next_attempt_at=Now())
    STATE["fail"] = "permanent"
    job_run(job_id=job.pk)
    assert job_last_permanent_error(job=job).error_class == "GhlInvalid"


def test_a_job_the_broker_never_took_is_sent_again_once_after_the_threshold(settings):
    settings.JOB_RESEND_AFTER_S = 60
    with mock.patch("integrations.sync.jobs.job_send", return_value=False):
        job = job_enqueue(kind="action", idempotency_key="unsent")
    assert Job.objects.get(pk=job.pk).sent_at is None
    with mock.patch("integrations.sync.jobs.job_send"):
        assert jobs_dispatch_due() == 0  # just queued: its own send may be on its way
    Job.objects.filter(pk=job.pk).update(queued_at=timezone.now() - timedelta(seconds=61))
    sent = []
    with mock.patch("django_q.tasks.async_task", side_effect=lambda *a, **k: sent.append(a)):
        assert jobs_dispatch_due() == 1
        assert jobs_dispatch_due() == 0  # sent now: not again before the threshold
    assert sent == [("integrations.interfaces.tasks.job_run_task", job.pk)]
    assert Job.objects.get(pk=job.pk).sent_at is not None


def test_a_broker_that_refuses_leaves_the_job_queued_and_unsent():
    job = make()
    with mock.patch("django_q.tasks.async_task", side_effect=ConnectionError("redis is down")):
        from integrations.sync.jobs import job_send

        assert job_send(job_id=job.pk) is False
    job.refresh_from_db()
    assert job.status == "queued" and job.sent_at is None


def test_a_database_that_went_away_mid_run_is_retried_not_failed_for_good():
    """The fault matrix terminated every database connection mid-backfill: the job met an
    OperationalError, was recorded as a permanent failure (an error without a word is a bug),
    and the backfill stalled until its next interval. A lost or refusing database is transient."""
    job = make()
    STATE["fail"] = "database"
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "queued" and job.next_attempt_at is not None
    attempt = job.attempt_rows.get()
    assert attempt.outcome == "failed" and attempt.permanent is False
    assert attempt.error_class == "OperationalError"


def test_a_database_that_went_away_is_retried_within_seconds_not_the_normal_backoff():
    """The fault matrix terminated every database connection mid-backfill: the job was retried
    on the normal backoff (15 to 30 s for a first failure), so the backfill stood still for half a
    minute after the database was back (terminate_recovery_s 55). A lost connection is back on a
    new one at once: the first retries come within seconds, then back off as usual."""
    job = make()
    STATE["fail"] = "database"
    before = db_now()
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "queued"
    waited = (job.next_attempt_at - before).total_seconds()
    assert 0 < waited <= job_runs.DATABASE_AWAY_RETRY_SECONDS + 1
    # Still away after several tries: the wait grows, capped like any other.
    assert (
        job_runs.job_backoff(attempts=6, database_away=True) > job_runs.DATABASE_AWAY_RETRY_SECONDS
    )
    assert job_runs.job_backoff(attempts=40, database_away=True) <= job_runs.RETRY_CAP_SECONDS


def test_a_job_message_leaves_no_task_result_behind_failures_still_do():
    """Our job and attempt rows are the record of a job's run: django-q2's monitor must not also
    save a success row per job message (it prunes them to Q_SAVE_LIMIT by loading every saved
    success, once per task: the cluster's one monitor process capped a webhook backlog's drain)."""
    from django_q.brokers import get_broker
    from django_q.models import Failure, Success
    from django_q.monitor import save_task
    from django_q.signals import pre_enqueue

    from integrations.sync.jobs import job_send

    job = make()
    packages = []

    def grab(sender, task, **kwargs):
        packages.append(dict(task))

    pre_enqueue.connect(grab, dispatch_uid="test-job-message")
    try:
        assert job_send(job_id=job.pk) is True
    finally:
        pre_enqueue.disconnect(dispatch_uid="test-job-message")
    (task,) = packages
    # "sync": the monitor would close the test's database connection otherwise.
    done = {**task, "stopped": timezone.now(), "attempt_count": 1, "sync": True}
    save_task({**done, "success": True, "result": None}, get_broker())
    assert not Success.objects.exists()
    save_task({**done, "id": "f" * 32, "success": False, "result": "boom"}, get_broker())
    assert Failure.objects.count() == 1  # a task that crashed is still on record


# --- the job page ---------------------------------------------------------------------------


def _failed_job(location, permanent):
    job = make(key=f"page-{permanent}", location_id=location.pk)
    STATE["fail"] = "permanent" if permanent else "transient"
    Job.objects.filter(pk=job.pk).update(max_attempts=1)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_re_running_a_permanent_error_asks_first_and_says_why(client, role_users, locations):
    job = _failed_job(locations["A"], permanent=True)
    client.force_login(role_users["support"])
    page = client.get(reverse("admin:integrations_job_change", args=[job.pk]))
    assert b"Re-run\xe2\x80\xa6" in page.content and b"permanent" in page.content
    url = reverse("admin:integrations_job_rerun", args=[job.pk])
    asked = client.post(url)
    assert asked.status_code == 200 and b"will likely fail" in asked.content
    assert b"HighLevel rejected the request as invalid" in asked.content
    assert Job.objects.get(pk=job.pk).status == "failed"
    with mock.patch("integrations.sync.jobs.job_send"):
        done = client.post(url, {"confirm": "1"})
    assert done.status_code == 302 and Job.objects.get(pk=job.pk).status == "queued"


def test_a_dead_transient_job_is_re_run_without_asking(client, role_users, locations):
    job = _failed_job(locations["A"], permanent=False)
    assert job.status == "dead"
    client.force_login(role_users["support"])
    with mock.patch("integrations.sync.jobs.job_send"):
        response = client.post(reverse("admin:integrations_job_rerun", args=[job.pk]))
    assert response.status_code == 302 and Job.objects.get(pk=job.pk).status == "queued"


def test_the_list_action_asks_first_for_permanent_errors(client, role_users, locations):
    job = _failed_job(locations["A"], permanent=True)
    client.force_login(role_users["support"])
    url = reverse("admin:integrations_job_changelist")
    asked = client.post(url, {"action": "rerun", "_selected_action": [job.pk]})
    assert asked.status_code == 200 and b"will likely fail" in asked.content
    assert Job.objects.get(pk=job.pk).status == "failed"
    with mock.patch("integrations.sync.jobs.job_send"):
        client.post(url, {"action": "rerun", "_selected_action": [job.pk], "confirm": "1"})
    assert Job.objects.get(pk=job.pk).status == "queued"


def test_retry_now_is_for_support_only_and_in_scope(
    client, role_users, locations, django_capture_on_commit_callbacks
):
    job = make(key="waiting", location_id=locations["C"].pk)
    STATE["fail"] = "transient"
    job_run(job_id=job.pk)
    url = reverse("admin:integrations_job_retry_now", args=[job.pk])
    for role, status in [("auditor", 403), ("staff", 403)]:
        client.force_login(role_users[role])
        assert client.post(url).status_code == status, role
    client.force_login(role_users["support"])
    page = client.get(reverse("admin:integrations_job_change", args=[job.pk]))
    assert b"attempt 2 of 5, next in" in page.content and b"Retry now" in page.content
    with (
        mock.patch("integrations.sync.jobs.job_send") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert client.post(url).status_code == 302
    assert send.called and Job.objects.get(pk=job.pk).next_attempt_at <= timezone.now()


def test_a_mint_batch_run_that_lost_its_lease_counts_nothing(ghl_app, agency):
    from integrations.models import Connection, LocationMintBatch
    from integrations.sync.onboarding import mint_batch_create, mint_batch_run

    agency_connection = Connection(app=ghl_app, agency=agency, kind="agency")
    agency_connection.access_token = "agency-at-xxxxxxxx"
    agency_connection.save()
    with mock.patch("integrations.sync.jobs.job_send"):
        batch = mint_batch_create(
            connection_id=agency_connection.pk, locations=[{"id": "hl-1", "name": "One"}], user=None
        )
    job = Job.objects.get(kind="mint", params={"batch_id": batch.pk})
    job_claim(job_id=job.pk)
    stale = Job.objects.get(pk=job.pk)
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    with mock.patch("integrations.sync.jobs.job_send"):
        jobs_dispatch_due()  # its worker is taken for dead; the job waits for another
    with pytest.raises(LeaseLost):
        mint_batch_run(batch_id=batch.pk, job=stale)
    batch.refresh_from_db()
    assert (batch.status, batch.done, batch.failed) == (LocationMintBatch.Status.QUEUED, 0, 0)
    assert outcomes(job) == ["worker_lost"]
