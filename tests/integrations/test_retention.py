"""Retention: old sync log entries and old finished jobs go, in batches; nothing else does."""

import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.models import Job, SyncLog
from integrations.sync import retention, synclog

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
