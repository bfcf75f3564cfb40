"""A database made by the first release, with data in it, upgrades to this layout and syncs.

The database is migrated back to the release's leaf migrations, filled through the release's own
(historical) models: a connection, a mapping, a stored webhook event, its queued job, a sync log
row, a Rankr record and the tick's Schedule row. Then it migrates forward, and the job runs under
the task path the release queued it with (``integrations.tasks.job_run_task``).
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils.module_loading import import_string

from mappings.entities import contact
from portal.crypto import secret_encrypt

RELEASE = [
    ("portal", "0002_roles"),
    ("integrations", "0010_roles_subscriptions"),
    ("mappings", "0002_roles"),
    ("rankr", "0004_roles_events"),
]
PAYLOAD = {
    "type": "ContactCreate",
    "locationId": "loc-up",
    "id": "c-up",
    "email": " Ada@Example.COM ",
    "firstName": "Ada",
    "lastName": "Lovelace",
    "webhookId": "wh-up",
    "timestamp": "2026-01-01T00:00:00Z",
}


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _release_data(apps):
    """Rows as the first release wrote them, through its own models."""
    agency = apps.get_model("portal", "Agency").objects.create(
        name="Up Agency", company_id="comp-up"
    )
    location = apps.get_model("portal", "Location").objects.create(
        agency=agency, location_id="loc-up", name="Upgrade Dental"
    )
    app = apps.get_model("integrations", "HighLevelApp").objects.create(
        name="Rankr",
        mode="sandbox",
        client_id="up-client",
        client_secret_encrypted=secret_encrypt(plaintext="up-secret"),
        redirect_url="http://testserver/integrations/oauth/callback/",
        scopes="contacts.readonly",
    )
    conn = apps.get_model("integrations", "Connection").objects.create(
        app=app,
        agency=agency,
        location=location,
        kind="location",
        status="active",
        scopes="contacts.readonly",
        access_token_encrypted=secret_encrypt(plaintext="up-access"),
    )
    template = contact.ENTITY.flows["ghl_contact_upsert"]
    mapping = apps.get_model("mappings", "Mapping").objects.create(
        location=location,
        name=template.title,
        entity="contact",
        direction="ghl_to_rankr",
        operation_key=template.operation_key,
        null_policy="skip",
        rules=template.rules,
        template_key="ghl_contact_upsert",
    )
    apps.get_model("mappings", "MappingVersion").objects.create(
        mapping=mapping,
        number=1,
        entity="contact",
        direction="ghl_to_rankr",
        null_policy="skip",
        rules=template.rules,
    )
    event = apps.get_model("integrations", "WebhookEvent").objects.create(
        webhook_id="wh-up",
        event_type="ContactCreate",
        highlevel_location_id="loc-up",
        location=location,
        payload=PAYLOAD,
        status="processed",
    )
    job = apps.get_model("integrations", "Job").objects.create(
        kind="webhook",
        idempotency_key="webhook:wh-up",
        location=location,
        connection=conn,
        operation="ContactCreate",
        subject="c-up",
        status="queued",
        max_attempts=5,
        params={"webhook_event_id": event.pk, "webhook_id": "wh-up"},
    )
    apps.get_model("integrations", "SyncLog").objects.create(
        connection=conn,
        location=location,
        operation_id="GET /contacts/",
        method="GET",
        path="/contacts/",
        status=200,
        job_id=job.pk,
    )
    apps.get_model("rankr", "Contact").objects.create(
        location=location, ghl_id="c-old", email="old@example.com"
    )
    return job.pk


@pytest.fixture
def release_database(transactional_db):
    """The database at the release's leaf migrations; migrated forward again whatever happens."""
    executor = _migrate(RELEASE)
    try:
        yield executor.loader.project_state(RELEASE).apps
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.slow
def test_a_release_database_with_data_migrates_to_the_new_layout_and_runs_a_sync(release_database):
    # The release's tick row, as its migration 0006 wrote it (a flush by an earlier test may have
    # removed the one the test database was built with).
    release_database.get_model("django_q", "Schedule").objects.update_or_create(
        name="portal tick",
        defaults={
            "func": "integrations.tasks.tick_task",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
        },
    )
    job_id = _release_data(release_database)

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from django_q.models import Schedule

    from integrations.models import Job, SyncLog
    from rankr.models import Contact

    tick = Schedule.objects.get(name="portal tick")
    assert tick.func == "integrations.interfaces.tasks.tick_task"
    import_string(tick.func)()  # the moved schedule runs
    # A task the release queued names the old path: it still imports, and runs the job.
    import_string("integrations.tasks.job_run_task")(job_id)
    job = Job.objects.get(pk=job_id)
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    synced = Contact.objects.get(ghl_id="c-up")
    assert (synced.email, synced.first_name) == ("ada@example.com", "Ada")
    assert Contact.objects.filter(ghl_id="c-old", email="old@example.com").exists()
    assert SyncLog.objects.filter(job_id=job_id, path="/contacts/").count() == 1
