"""PostgreSQL: the sync log, job attempts and webhook events are partitioned by day; retention
drops an expired day's partition; the admin lists read them as before. Skipped on SQLite."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from integrations.models import Job, JobAttempt, SyncLog, WebhookEvent
from integrations.sync import retention, synclog
from integrations.sync.partitions import (
    PARTITIONED,
    partition_name,
    partitions_ensure,
    table_partition,
    table_unpartition,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="native partitioning is PostgreSQL's"
    ),
]
DAY = timedelta(days=1)


def _one(sql, params=()):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return row[0] if row else None


def _exists(name):
    return _one("SELECT to_regclass(%s)", [name]) is not None


def _partition_of(table, pk):
    return _one(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])


def _today():
    return timezone.now().astimezone(UTC).date()


def _noon(day):
    return datetime.combine(day, time(12), tzinfo=UTC)


def test_the_three_tables_are_partitioned_by_day_with_days_ahead_and_a_default():
    for table, column in PARTITIONED.items():
        strategy, key = _one(
            "SELECT ARRAY[p.partstrat::text, a.attname::text] FROM pg_partitioned_table p "
            "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
            "WHERE p.partrelid = %s::regclass",
            [table],
        )
        assert (strategy, key) == ("r", column)
        for ahead in range(3):
            assert _exists(partition_name(table, _today() + ahead * DAY)), (table, ahead)
        assert _exists(f"{table}_pdefault")


def test_inserts_land_in_their_days_partition_or_the_default():
    today = SyncLog.objects.create(method="GET", path="/today")
    assert _partition_of("integrations_synclog", today.pk) == partition_name(
        "integrations_synclog", _today()
    )
    far = _today() + 40 * DAY
    later = SyncLog.objects.create(method="GET", path="/later")
    SyncLog.objects.filter(pk=later.pk).update(at=_noon(far))  # no partition yet: the default
    assert _partition_of("integrations_synclog", later.pk) == "integrations_synclog_pdefault"
    # Creating that day's partition moves the waiting row into it.
    assert partitions_ensure(start=far, end=far) == 3
    assert _partition_of("integrations_synclog", later.pk) == partition_name(
        "integrations_synclog", far
    )
    job = Job.objects.create(kind="poll", idempotency_key="k")
    attempt = JobAttempt.objects.create(job=job, number=1, lease_token=1, started_at=timezone.now())
    event = WebhookEvent.objects.create(webhook_id="wh-1", status="processed")
    assert _partition_of("integrations_jobattempt", attempt.pk).endswith(f"{_today():%Y%m%d}")
    assert _partition_of("integrations_webhookevent", event.pk).endswith(f"{_today():%Y%m%d}")


def test_prune_drops_the_expired_days_partitions_and_deletes_the_cut_off_days_rows(monkeypatch):
    partitions_ensure(start=_today() - 20 * DAY, end=_today())
    expired_day, cut_day = _today() - 16 * DAY, _today() - 14 * DAY
    expired = [SyncLog.objects.create(method="GET", path=f"/x/{i}") for i in range(3)]
    SyncLog.objects.filter(pk__in=[e.pk for e in expired]).update(at=_noon(expired_day))
    early = SyncLog.objects.create(method="GET", path="/early")
    late = SyncLog.objects.create(method="GET", path="/late")
    cut_off = _noon(cut_day)
    SyncLog.objects.filter(pk=early.pk).update(at=cut_off - timedelta(hours=1))
    SyncLog.objects.filter(pk=late.pk).update(at=cut_off + timedelta(hours=1))
    kept = SyncLog.objects.create(method="GET", path="/now")
    deletes = []
    monkeypatch.setattr(synclog, "BATCH", 1)
    real = SyncLog.objects.filter

    def spy(*args, **kwargs):
        deletes.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(SyncLog.objects, "filter", spy)
    assert synclog.sync_logs_prune(before=cut_off) == 4
    assert not _exists(partition_name("integrations_synclog", expired_day))
    assert _exists(partition_name("integrations_synclog", cut_day))  # partly expired: kept
    assert set(SyncLog.objects.values_list("pk", flat=True)) == {late.pk, kept.pk}
    # The three in the dropped partition went without a row-by-row delete: one batch (early).
    assert sum("id__in" in kwargs for kwargs in deletes) == 1


def test_a_partition_holding_a_running_jobs_attempt_or_an_unprocessed_event_stays():
    old_day = _today() - 40 * DAY
    other_day = _today() - 39 * DAY
    partitions_ensure(start=old_day, end=other_day)
    running = Job.objects.create(kind="poll", status="running", idempotency_key="run")
    done = Job.objects.create(
        kind="poll", status="succeeded", idempotency_key="done", finished_at=timezone.now()
    )
    held = JobAttempt.objects.create(
        job=running, number=1, lease_token=1, started_at=_noon(old_day)
    )
    gone = JobAttempt.objects.create(job=done, number=1, lease_token=1, started_at=_noon(old_day))
    dropped = JobAttempt.objects.create(
        job=done, number=2, lease_token=2, started_at=_noon(other_day)
    )
    waiting = WebhookEvent.objects.create(webhook_id="wait", status="received")
    processed = WebhookEvent.objects.create(webhook_id="done", status="processed")
    WebhookEvent.objects.filter(pk__in=[waiting.pk, processed.pk]).update(
        received_at=_noon(old_day)
    )
    before = timezone.now() - 30 * DAY
    assert retention.job_attempts_prune(before=before) == 2
    assert set(JobAttempt.objects.values_list("pk", flat=True)) == {held.pk}
    assert _exists(partition_name("integrations_jobattempt", old_day))
    assert not _exists(partition_name("integrations_jobattempt", other_day))
    assert retention.webhook_events_prune(before=before) == 1
    assert list(WebhookEvent.objects.values_list("pk", flat=True)) == [waiting.pk]
    assert gone.pk and dropped.pk


def test_the_unique_rules_without_the_partition_key_still_hold():
    WebhookEvent.objects.create(webhook_id="wh-dup", status="processed")
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookEvent.objects.create(webhook_id="wh-dup", status="received")
    # Rejected deliveries are samples, stored however often they come.
    WebhookEvent.objects.create(webhook_id="wh-dup", status="rejected")
    WebhookEvent.objects.create(webhook_id="wh-dup", status="rejected")
    # Moving a row to another day is not a second row.
    WebhookEvent.objects.filter(webhook_id="wh-dup", status="processed").update(
        received_at=timezone.now() - 3 * DAY
    )
    job = Job.objects.create(kind="poll", idempotency_key="once")
    JobAttempt.objects.create(job=job, number=1, lease_token=1, started_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        JobAttempt.objects.create(job=job, number=1, lease_token=2, started_at=timezone.now() + DAY)
    JobAttempt.objects.create(job=job, number=2, lease_token=2, started_at=timezone.now())
    assert JobAttempt.objects.filter(job=job).count() == 2


def test_the_admin_lists_read_the_partitioned_tables(client):
    user = get_user_model().objects.create_superuser("root", "r@x.test", "pw")
    client.force_login(user)
    job = Job.objects.create(kind="poll", status="failed", idempotency_key="adm")
    attempt = JobAttempt.objects.create(
        job=job, number=1, lease_token=1, started_at=timezone.now(), outcome="failed"
    )
    entry = SyncLog.objects.create(method="GET", path="/contacts/abc123456", trace_id="t-9")
    event = WebhookEvent.objects.create(webhook_id="wh-adm", event_type="ContactCreate")
    pages = {
        "/admin/integrations/synclog/": "abc123456",
        "/admin/integrations/synclog/?q=t-9": "abc123456",
        f"/admin/integrations/synclog/{entry.pk}/change/": "abc123456",
        "/admin/integrations/webhookevent/": "wh-adm",
        f"/admin/integrations/webhookevent/{event.pk}/change/": "wh-adm",
        f"/admin/integrations/job/{job.pk}/change/": "attempt",
    }
    for url, text in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url
    assert attempt.pk


def test_a_populated_plain_table_is_converted_with_its_rows_names_and_sequence():
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TABLE scratch_log (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
            "at timestamptz NOT NULL, n integer NOT NULL CHECK (n >= 0), "
            "location_id bigint REFERENCES portal_location(id), "
            "CONSTRAINT scratch_once UNIQUE (n))"
        )
        cur.execute("CREATE INDEX scratch_recent ON scratch_log (at DESC, id DESC)")
        cur.execute(
            "INSERT INTO scratch_log (at, n) SELECT now() - make_interval(days => x), x "
            "FROM generate_series(0, 9) AS x"
        )
        table_partition(table="scratch_log", column="at", using=connection)
        cur.execute("SELECT count(*), count(DISTINCT tableoid) FROM scratch_log")
        assert cur.fetchone() == (10, 10)
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'scratch_log'")
        names = {row[0] for row in cur.fetchall()}
        assert {"scratch_log_pkey", "scratch_recent", "scratch_once"} <= names
        cur.execute("INSERT INTO scratch_log (at, n) VALUES (now(), 10) RETURNING id")
        assert cur.fetchone()[0] == 11
        with pytest.raises(Exception, match="check"), transaction.atomic():
            cur.execute("INSERT INTO scratch_log (at, n) VALUES (now(), -1)")
        assert _one("SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'scratch_log'::regclass")
        # Migrating back: a plain table with the same rows, names and unique rule.
        table_unpartition(table="scratch_log", column="at", using=connection)
        assert not _one(
            "SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'scratch_log'::regclass"
        )
        assert _one("SELECT count(*) FROM scratch_log") == 11
        assert (
            _one(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'scratch_once'"
            )
            == "UNIQUE (n)"
        )
        assert (
            _one(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'scratch_log_pkey'"
            )
            == "PRIMARY KEY (id)"
        )


def test_the_path_search_reads_the_trigram_index_on_every_partition():
    SyncLog.objects.bulk_create(SyncLog(method="GET", path=f"/contacts/c{i}") for i in range(2000))
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'integrations_synclog%%' "
            "AND indexdef LIKE '%%gin_trgm_ops%%'"
        )
        on = cur.fetchone()[0]
        assert on == 1 + _one(  # the parent's and each partition's
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'integrations_synclog'::regclass"
        )
        cur.execute("ANALYZE integrations_synclog")
        # A small table would rather scan: forbid it to see the index is usable for LIKE '%…%'.
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_indexscan = off")
        query = SyncLog.objects.filter(path__contains="c1777").order_by()
        sql, params = query.query.sql_with_params()
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "path_idx" in plan or "path_trgm" in plan, plan
    assert [e.path for e in query] == ["/contacts/c1777"]


@pytest.mark.django_db(transaction=True)  # the partition must be committed for another session
def test_a_long_read_on_the_table_makes_the_drop_wait_for_the_next_run_not_block_writes(
    monkeypatch,
):
    import psycopg

    from integrations.sync import partitions

    old_day = _today() - 30 * DAY
    partitions_ensure(start=old_day, end=old_day)
    entry = SyncLog.objects.create(method="GET", path="/old")
    SyncLog.objects.filter(pk=entry.pk).update(at=_noon(old_day))
    monkeypatch.setattr(partitions, "LOCK_TIMEOUT_MS", 200)
    s = connection.settings_dict
    with psycopg.connect(
        dbname=s["NAME"], user=s["USER"], host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432
    ) as reader:
        reader.execute("SET lock_timeout = '10s'")
        reader.execute("LOCK TABLE integrations_synclog IN ACCESS SHARE MODE")  # an export
        assert (
            partitions.partitions_expired_drop(
                table="integrations_synclog", before=timezone.now() - 14 * DAY
            )
            == 0
        )
    assert _exists(partition_name("integrations_synclog", old_day))
    assert SyncLog.objects.filter(pk=entry.pk).exists()
    # The reader gone, the next run drops it.
    assert synclog.sync_logs_prune(before=timezone.now() - 14 * DAY) == 1
    assert not _exists(partition_name("integrations_synclog", old_day))


def test_the_hourly_retention_run_creates_the_days_ahead(monkeypatch, settings):
    from integrations.sync import partitions

    later = _today() + 10 * DAY
    monkeypatch.setattr(partitions, "_today", lambda: later)
    run = retention.retention_run()
    assert run.partitions_created == 3 * len(PARTITIONED)
    for table in PARTITIONED:
        for ahead in range(3):
            assert _exists(partition_name(table, later + ahead * DAY))
