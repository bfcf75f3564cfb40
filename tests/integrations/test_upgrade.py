"""A database made by the first release, with its data, upgrades to this layout and syncs on.

The database is ``tests/fixtures/release1.sqlite3``, written by the first release's own code (commit
3930355; ``tests/fixtures/make_release1.py`` says how, and makes it again): two connections with
encrypted tokens, a subscription with a high-water mark, one whose backfill was killed midway
(checkpoint, job ``running``), jobs finished and queued, the tasks waiting in the ORM broker,
webhook events, sync-log rows, Rankr contacts and audit events.

- The file itself, copied, is migrated by ``manage.py migrate`` in a child process, as an operator
  upgrades; its rows are all still there and its secrets still decrypt.
- Its rows are loaded into the test database (SQLite or PostgreSQL) at the release's leaf
  migrations, migrated forward, and the sync runs on: the broker's waiting tasks run by the task
  paths the release queued them with, the Search Contacts poll continues from its high-water
  mark, the killed backfill resumes from its checkpoint, the refresh token the release stored
  gets new tokens.
"""

import json
import shutil
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime, parse_time
from django.utils.module_loading import import_string

from portal.crypto import secret_decrypt
from tests.fixtures import make_release1 as release
from tests.integrations.childproc import ROOT

FIXTURE = release.FIXTURE
# The first release's leaf migration of each of the portal's apps.
RELEASE = [
    ("portal", "0002_roles"),
    ("integrations", "0010_roles_subscriptions"),
    ("mappings", "0002_roles"),
    ("rankr", "0004_roles_events"),
]
# Rows the migrations write themselves (and Django after them): not the release's data.
MIGRATION_TABLES = {
    "django_migrations",
    "django_content_type",
    "auth_permission",
    "auth_group",
    "auth_group_permissions",
    "sqlite_sequence",
}
# What the release wrote, as counted in the fixture: the upgrade keeps every row.
KEPT = {
    "portal_agency": 1,
    "portal_location": 2,
    "portal_auditevent": 8,
    "auth_user": 1,
    "integrations_highlevelapp": 1,
    "integrations_connection": 2,
    "integrations_subscription": 2,
    "integrations_job": 5,
    "integrations_webhookevent": 4,
    "integrations_synclog": 5,
    "mappings_mapping": 1,
    "mappings_mappingversion": 1,
    "rankr_contact": release.CONTACTS + release.ADDED,
    "django_q_ormq": 3,
}
CHECKPOINT = "rel1contact000000099"  # the listing's next page starts after this contact


def _fixture_rows(path: Path, table: str) -> tuple[list[str], list[tuple]]:
    db = sqlite3.connect(path)
    try:
        cursor = db.execute(f'SELECT * FROM "{table}"')
        return [d[0] for d in cursor.description], cursor.fetchall()
    finally:
        db.close()


def _fixture_tables(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: db.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        db.close()


# -- the file, as an operator upgrades it ----------------------------------------------------------


def test_the_fixture_is_the_first_releases_database_and_small():
    counts = _fixture_tables(FIXTURE)
    assert {table: counts[table] for table in KEPT} == KEPT
    assert FIXTURE.stat().st_size < 1_000_000
    names = {(app, name) for _, app, name, _ in _fixture_rows(FIXTURE, "django_migrations")[1]}
    assert set(RELEASE) <= names
    assert not any(app == "integrations" and name[:4] > "0010" for app, name in names)


@pytest.mark.slow
def test_the_release_database_file_migrates_with_manage_py_keeping_its_rows(tmp_path):
    copy = tmp_path / "portal.sqlite3"
    shutil.copyfile(FIXTURE, copy)
    env = {
        "PATH": "/usr/bin:/bin",
        "PORTAL_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"sqlite:///{copy}",
        "SECRET_KEY": release.SECRET_KEY,
        "SANDBOX_ENABLED": "false",
    }
    for args in (["migrate", "--noinput"], ["migrate", "--check"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    counts = _fixture_tables(copy)
    assert {table: counts[table] for table in KEPT} == KEPT
    db = sqlite3.connect(copy)
    try:
        tokens = dict(
            db.execute(
                "SELECT location_id, access_token_encrypted FROM integrations_connection"
            ).fetchall()
        )
        (refresh,) = db.execute(
            "SELECT refresh_token_encrypted FROM integrations_connection WHERE location_id = 1"
        ).fetchone()
        (secret,) = db.execute(
            "SELECT client_secret_encrypted FROM integrations_highlevelapp"
        ).fetchone()
        watermark, cursor = db.execute(
            "SELECT watermark, cursor FROM integrations_subscription ORDER BY id"
        ).fetchall()
        (tick,) = db.execute(
            "SELECT func FROM django_q_schedule WHERE name = 'portal tick'"
        ).fetchone()
    finally:
        db.close()
    assert secret_decrypt(ciphertext=tokens[1]) == release.ACCESS
    assert secret_decrypt(ciphertext=refresh) == release.REFRESH
    assert secret_decrypt(ciphertext=tokens[2]) == release.PRIVATE_TOKEN
    assert secret_decrypt(ciphertext=secret) == release.CLIENT_SECRET
    assert watermark[0] == release.last_stamp()
    assert json.loads(cursor[1])["params"]["startAfterId"] == CHECKPOINT
    assert tick == "integrations.interfaces.tasks.tick_task"


# -- the rows, on the test database (SQLite or PostgreSQL), and the sync going on ------------------


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _leaves():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _python(field, value):
    """A value as SQLite stored it, as the field's Python value."""
    if value is None:
        return None
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        parsed = parse_datetime(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    converters = {
        "DateField": parse_date,
        "TimeField": parse_time,
        "BooleanField": bool,
        "JSONField": json.loads,
        "DecimalField": lambda v: Decimal(str(v)),
        "UUIDField": uuid.UUID,
        "BinaryField": bytes,
    }
    return converters.get(kind, lambda v: v)(value)


def _load_release_rows(apps) -> dict[str, int]:
    """Every row the release wrote, into this database as the release's schema holds it."""
    models = {
        model._meta.db_table: model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }
    written = {}
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        for table, count in _fixture_tables(FIXTURE).items():
            if table in MIGRATION_TABLES or table.startswith("sandbox"):
                continue
            model = models.get(table)
            assert model is not None or count == 0, f"{table}: no model at the release's state"
            if model is None:
                continue
            columns, rows = _fixture_rows(FIXTURE, table)
            fields = {f.column: f for f in model._meta.concrete_fields}
            # The release's schema, as this project's migrations rebuild it, is the release's.
            assert set(columns) == set(fields), table
            cursor.execute(f"DELETE FROM {quote(table)}")
            if not rows:
                continue
            values = [
                [
                    fields[c].get_db_prep_save(_python(fields[c], v), connection)
                    for c, v in zip(columns, row, strict=True)
                ]
                for row in rows
            ]
            cursor.executemany(
                f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
                f"VALUES ({', '.join(['%s'] * len(columns))})",
                values,
            )
            written[table] = len(rows)
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models.values())):
            cursor.execute(sql)
    return written


@pytest.fixture
def release_database(transactional_db):
    """The test database at the release's leaf migrations, holding the release's rows; migrated
    forward again whatever happens."""
    executor = _migrate(RELEASE)
    try:
        yield _load_release_rows(executor.loader.project_state(RELEASE).apps)
    finally:
        _migrate(_leaves())


def _release_writes(apps) -> None:
    """Rows of every kind the release's workers and admin insert, through its own models."""
    location = apps.get_model("portal", "Location").objects.get(location_id=release.LOCATION_B)
    apps.get_model("portal", "Agency").objects.create(name="Later", company_id="comp-rel1-later")
    connection_b = apps.get_model("integrations", "Connection").objects.get(location=location)
    mapping = apps.get_model("mappings", "Mapping").objects.create(
        location=location,
        name="Contacts",
        entity="contact",
        direction="ghl_to_rankr",
        operation_key="POST /contacts/search",
        rules={},
    )
    apps.get_model("integrations", "Subscription").objects.create(
        location=location,
        connection=connection_b,
        trigger="Search Contacts",
        operation="POST /contacts/search",
        mapping=mapping,
        enabled=False,
    )
    apps.get_model("integrations", "Job").objects.create(
        kind="poll", idempotency_key="rel1-later", location=location, status="succeeded"
    )
    for kind in ("Contact", "Task", "Note", "Appointment", "Opportunity", "RankrUser"):
        apps.get_model("rankr", kind).objects.create(location=location, ghl_id=f"rel1-{kind}")


def _broker_drain(*, limit=50) -> list[str]:
    """What a worker does: take each waiting task off the ORM broker and run it (by path)."""
    from django_q.models import OrmQ

    ran = []
    for _ in range(limit):
        row = OrmQ.objects.order_by("id").first()
        if row is None:
            return ran
        task = row.task
        row.delete()
        import_string(task["func"])(*task["args"], **task["kwargs"])
        ran.append(f"{task['func']}{tuple(task['args'])}")
    raise AssertionError(f"the broker never emptied: {ran[-5:]}")


@pytest.mark.slow
def test_the_release_data_migrates_and_the_sync_continues_from_its_checkpoints(
    release_database, mocked, settings, monkeypatch
):
    from django_q.conf import Conf

    assert {table: release_database.get(table, 0) for table in KEPT} == KEPT
    # The operator keeps SECRET_KEY: the broker's waiting payloads are signed with it.
    monkeypatch.setattr(Conf, "SECRET_KEY", release.SECRET_KEY)
    monkeypatch.setattr(Conf, "PREFIX", "portal")
    # The release's tasks wait in the ORM broker; this run's go there too (also under REDIS_URL).
    monkeypatch.setattr(Conf, "ORM", "default")

    _migrate(_leaves())

    from django_q.models import Schedule

    from integrations.models import Connection, HighLevelApp, Job, Subscription, WebhookEvent
    from integrations.sync.jobs import jobs_dispatch_due
    from rankr.models import Contact
    from tests.fakeghl import FakeHighLevel

    # The data survived: counts, secrets, checkpoints.
    for table, count in KEPT.items():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            assert cursor.fetchone()[0] == count, table
    oauth = Connection.objects.get(location__location_id=release.LOCATION_A)
    private = Connection.objects.get(location__location_id=release.LOCATION_B)
    assert (oauth.access_token, oauth.refresh_token) == (release.ACCESS, release.REFRESH)
    assert private.access_token == release.PRIVATE_TOKEN
    assert HighLevelApp.objects.get().client_secret == release.CLIENT_SECRET
    search = Subscription.objects.get(trigger="Search Contacts")
    listing = Subscription.objects.get(trigger="List Contacts (Deprecated)")
    assert search.watermark == release.last_stamp()
    assert listing.cursor["params"]["startAfterId"] == CHECKPOINT
    interrupted = Job.objects.get(pk=listing.claimed_job_id)
    assert interrupted.status == Job.Status.RUNNING
    tick = Schedule.objects.get(name="portal tick")
    assert tick.func == "integrations.interfaces.tasks.tick_task"

    # The release's processes, still running while this one's start, write as they did: with
    # only the columns they know (expand then contract: tests/test_expand_contract.py).
    _release_writes(MigrationExecutor(connection).loader.project_state(RELEASE).apps)

    # HighLevel meanwhile: three contacts added, one changed, after the release's last run.
    fake = FakeHighLevel(
        access=release.ACCESS, refresh=release.REFRESH, location_id=release.LOCATION_A
    )
    fake.refresh_delay = 0
    fake.install(mocked, base=settings.SANDBOX_BASE_URL)
    fake.rows = release.highlevel_contacts()
    for n in range(3):
        stamp = release.next_stamp(n)
        fake.rows.append(
            {
                "id": f"rel2contact{n:09d}",
                "locationId": release.LOCATION_A,
                "firstName": f"New{n}",
                "lastName": "After",
                "email": f"new{n}@example.com",
                "tags": ["lead"],
                "dateAdded": stamp,
                "dateUpdated": stamp,
            }
        )
    fake.rows[10].update(firstName="Changed10", dateUpdated=release.next_stamp(9))
    for n, (ghl_id, email, first) in enumerate(
        [
            (release.WEBHOOK_CONTACT, "hooked@example.com", "Hooked"),
            (release.WAITING_CONTACT, "waiting@example.com", "Waiting"),
        ]
    ):  # the two its webhooks announced
        stamp = release.next_stamp(5 + n)
        fake.rows.append(
            {
                "id": ghl_id,
                "locationId": release.LOCATION_A,
                "firstName": first,
                "lastName": "Person",
                "email": email,
                "dateAdded": stamp,
                "dateUpdated": stamp,
            }
        )

    # Its access token has expired by now: the refresh token the release stored gets new ones.
    Connection.objects.filter(pk=oauth.pk).update(
        token_expires_at=timezone.now() - timedelta(minutes=1)
    )

    # A worker of this release takes what the release left in the broker: the queued poll, the
    # queued webhook job and the webhook event still waiting.
    ran = _broker_drain()
    assert ran[:3] == [
        f"integrations.tasks.job_run_task({search.claimed_job_id},)",
        "integrations.tasks.webhook_event_process_task(2,)",
        "integrations.tasks.job_run_task(5,)",
    ]
    assert Contact.objects.get(ghl_id=release.WEBHOOK_CONTACT).email == "hooked@example.com"
    assert Contact.objects.get(ghl_id=release.WAITING_CONTACT).first_name == "Waiting"
    search_bodies = [body for method, _, body in fake.requests if method == "POST"]
    assert len(search_bodies) == 1  # one page: what changed since the high-water mark
    (window,) = search_bodies[0]["filters"]
    assert window["value"]["gte"] <= release.last_stamp()  # from the checkpoint (with overlap)
    assert window["value"]["gte"] > fake.rows[release.CONTACTS - 50]["dateUpdated"]
    search.refresh_from_db()
    assert search.watermark == release.next_stamp(9)
    assert fake.refresh_calls == 1  # the release's refresh token got new tokens
    oauth.refresh_from_db()
    assert oauth.refresh_token == fake.refresh

    # The worker the release lost: its job's lease passes (as it long has, but for a fixture
    # made minutes ago); the tick sends the job again.
    Job.objects.filter(pk=interrupted.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert jobs_dispatch_due() == 1
    _broker_drain()
    listed = [query for method, _, query in fake.requests if method == "GET"]
    assert listed[0]["startAfterId"] == CHECKPOINT  # the killed page again, nothing before it
    assert len(listed) == 2  # 160 contacts after the checkpoint, in pages of 100
    interrupted.refresh_from_db()
    assert interrupted.status == Job.Status.SUCCEEDED, interrupted.error_message
    listing.refresh_from_db()
    assert listing.cursor == {} and listing.backfill_finished_at is not None

    assert not Job.objects.exclude(status=Job.Status.SUCCEEDED).exists(), list(
        Job.objects.exclude(status=Job.Status.SUCCEEDED).values("pk", "kind", "error_message")
    )
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {
        "processed",
        "ignored",
        "rejected",
    }
    synced = {
        c.ghl_id: (c.email, c.first_name)
        for c in Contact.objects.filter(location=oauth.location, deleted_at__isnull=True)
    }
    assert synced == {r["id"]: (r["email"], r["firstName"]) for r in fake.rows}
