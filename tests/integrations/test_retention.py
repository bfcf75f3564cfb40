"""Retention: old sync log entries and old finished jobs go, in batches; nothing else does."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.models import Job, JobAttempt, SyncLog, WebhookEvent
from integrations.sync import retention, synclog
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def _deletes(queries, table):
    """The DELETE statements on ``table`` itself (not on tables whose name it begins)."""
    return [q for q in queries if re.match(rf'DELETE FROM "?{table}"?\s', q["sql"], re.IGNORECASE)]


def test_prune_sync_logs_deletes_old_entries_in_batches(monkeypatch, capsys):
    monkeypatch.setattr(synclog, "BATCH", 2)
    SyncLog.objects.bulk_create(SyncLog(method="GET", path=f"/c/{i}") for i in range(6))
    old = list(SyncLog.objects.values_list("pk", flat=True)[:5])
    SyncLog.objects.filter(pk__in=old).update(at=timezone.now() - timedelta(days=91))
    with CaptureQueriesContext(connection) as queries:
        call_command("prune_sync_logs", "--older-than", "90d")
    assert SyncLog.objects.count() == 1 and not SyncLog.objects.filter(pk__in=old).exists()
    assert len(_deletes(queries, "integrations_synclog")) == 3  # 2 + 2 + 1
    assert "Deleted 5 sync log entries" in capsys.readouterr().out


def test_prune_jobs_deletes_only_old_finished_jobs_in_batches(monkeypatch, capsys):
    long_ago = timezone.now() - timedelta(days=100)
    for i, status in enumerate(["succeeded", "failed", "dead", "succeeded", "queued", "running"]):
        Job.objects.create(
            kind="poll",
            status=status,
            idempotency_key=f"old-{i}",
            finished_at=long_ago if status not in ("queued", "running") else None,
        )
    Job.objects.filter(idempotency_key__startswith="old-").update(queued_at=long_ago)
    recent = Job.objects.create(
        kind="poll", status="succeeded", idempotency_key="recent", finished_at=timezone.now()
    )
    with CaptureQueriesContext(connection) as queries:
        deleted = retention.jobs_prune(before=timezone.now() - timedelta(days=90), batch=2)
    assert deleted == 4
    assert set(Job.objects.values_list("idempotency_key", flat=True)) == {
        "old-4",
        "old-5",
        recent.idempotency_key,
    }
    assert len(_deletes(queries, "integrations_job")) == 2
    call_command("prune_jobs", "--older-than", "1m")
    assert "finished jobs older than 1m" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["prune_sync_logs", "prune_jobs"])
def test_a_bad_age_is_refused_with_a_clear_error(command):
    Job.objects.create(
        kind="poll", status="succeeded", idempotency_key="keep", finished_at=timezone.now()
    )
    with pytest.raises(CommandError, match="use a number and d, h or m"):
        call_command(command, "--older-than", "three months")
    assert Job.objects.exists()


# --- Retention by setting, run by the scheduler tick ------------------------------------------

DAY = timedelta(days=1)


def _job(key, status, *, age=timedelta(0)):
    when = timezone.now() - age
    job = Job.objects.create(
        kind="poll",
        status=status,
        idempotency_key=key,
        finished_at=None if status in ("queued", "running") else when,
    )
    Job.objects.filter(pk=job.pk).update(queued_at=when)
    return job


def _attempt(job, number, *, age):
    return JobAttempt.objects.create(
        job=job, number=number, lease_token=number, started_at=timezone.now() - age
    )


def _log(path, *, age):
    entry = SyncLog.objects.create(method="GET", path=path)
    SyncLog.objects.filter(pk=entry.pk).update(at=timezone.now() - age)
    return entry


def _webhook(webhook_id, status, *, age):
    event = WebhookEvent.objects.create(webhook_id=webhook_id, status=status)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - age)
    return event


def _audit(action, *, age):
    event = AuditEvent.objects.create(action=action)
    AuditEvent.objects.filter(pk=event.pk).update(at=timezone.now() - age)
    return event


def test_retention_is_on_by_default_with_the_audit_trail_kept_longest():
    from django.conf import settings

    days = {
        name: getattr(settings, name)
        for name in (
            "SYNC_LOG_RETENTION_DAYS",
            "JOB_RETENTION_DAYS",
            "JOB_ATTEMPT_RETENTION_DAYS",
            "WEBHOOK_EVENT_RETENTION_DAYS",
            "AUDIT_EVENT_RETENTION_DAYS",
        )
    }
    assert all(days.values()), days
    assert days["AUDIT_EVENT_RETENTION_DAYS"] == max(days.values())
    assert days["SYNC_LOG_RETENTION_DAYS"] == 14 and days["AUDIT_EVENT_RETENTION_DAYS"] == 400


def test_the_tick_prunes_every_table_past_its_setting_and_keeps_the_rest(settings):
    settings.SYNC_LOG_RETENTION_DAYS = 14
    settings.JOB_RETENTION_DAYS = 30
    settings.JOB_ATTEMPT_RETENTION_DAYS = 30
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 30
    settings.AUDIT_EVENT_RETENTION_DAYS = 400
    old_log, new_log = _log("/old", age=15 * DAY), _log("/new", age=13 * DAY)
    old_done, new_done = _job("old-done", "succeeded", age=31 * DAY), _job("new", "failed")
    old_queued = _job("old-queued", "queued", age=90 * DAY)
    old_running = _job("old-running", "running", age=90 * DAY)
    gone_attempt = _attempt(old_done, 1, age=31 * DAY)
    running_attempt = _attempt(old_running, 1, age=40 * DAY)
    queued_attempt = _attempt(old_queued, 1, age=40 * DAY)
    # A finished job inside its retention loses the attempts older than theirs.
    stale_attempt = _attempt(new_done, 1, age=31 * DAY)
    fresh_attempt = _attempt(new_done, 2, age=DAY)
    old_event = _webhook("wh-old", "processed", age=31 * DAY)
    waiting = _webhook("wh-wait", "received", age=31 * DAY)
    new_event = _webhook("wh-new", "processed", age=29 * DAY)
    old_audit, new_audit = _audit("old", age=401 * DAY), _audit("new", age=399 * DAY)

    from integrations.interfaces.tasks import tick_task

    cache.delete(retention.RETENTION_GATE)
    tick_task()

    def left(model, *rows):
        return set(model.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", flat=True))

    assert left(SyncLog, old_log, new_log) == {new_log.pk}
    assert left(Job, old_done, new_done, old_queued, old_running) == {
        new_done.pk,
        old_queued.pk,
        old_running.pk,
    }
    attempts = (gone_attempt, running_attempt, queued_attempt, stale_attempt, fresh_attempt)
    assert left(JobAttempt, *attempts) == {
        running_attempt.pk,
        queued_attempt.pk,
        fresh_attempt.pk,
    }
    assert left(WebhookEvent, old_event, waiting, new_event) == {waiting.pk, new_event.pk}
    assert left(AuditEvent, old_audit, new_audit) == {new_audit.pk}


def test_the_tick_runs_retention_at_most_hourly_unless_rows_past_the_cut_off_remain(
    settings, monkeypatch
):
    cache.delete(retention.RETENTION_GATE)
    settings.SYNC_LOG_RETENTION_DAYS = 14
    settings.RETENTION_MAX_BATCHES = 1
    monkeypatch.setattr(synclog, "BATCH", 2)
    for i in range(3):
        _log(f"/old/{i}", age=20 * DAY)
    first = retention.retention_run_due()
    assert first is not None and first.deleted["sync_logs"] == 2 and first.more
    second = retention.retention_run_due()  # one row left: the gate was let go
    assert second is not None and second.deleted["sync_logs"] == 1 and not second.more
    assert not SyncLog.objects.exists()
    _log("/old/late", age=20 * DAY)
    assert retention.retention_run_due() is None  # within the hour
    assert SyncLog.objects.count() == 1


def test_a_setting_of_zero_keeps_that_table_forever(settings):
    settings.AUDIT_EVENT_RETENTION_DAYS = 0
    settings.SYNC_LOG_RETENTION_DAYS = 0
    kept = [_audit("ancient", age=4000 * DAY), _log("/ancient", age=4000 * DAY)]
    run = retention.retention_run()
    assert "audit_events" not in run.deleted and "sync_logs" not in run.deleted
    assert AuditEvent.objects.filter(pk=kept[0].pk).exists()
    assert SyncLog.objects.filter(pk=kept[1].pk).exists()
