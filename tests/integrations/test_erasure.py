"""Erasure: a person erased on request leaves no trace in any table; deleted records expire."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.urls import reverse
from django.utils import timezone

from integrations.models import (
    Connection,
    ErasureTombstone,
    Job,
    JobAttempt,
    Subscription,
    SyncLog,
    WebhookEvent,
)
from integrations.sync import erasure
from integrations.sync.erasure import ErasureError, person_erase
from integrations.sync.erasure.person import ERASED, Person
from integrations.sync.erasure.stores import STORES
from integrations.sync.jobs import job_run
from mappings.models import QuarantinedRecord
from mappings.template_models import SourcePayload
from portal.models import AuditEvent
from portal.roles import ROLE_PERMISSIONS
from rankr.models import Appointment, Contact, Note, Opportunity, RankrUser, Task
from rankr.services import RecordUpsert, record_soft_delete, record_upsert_many
from tests.admin_samples import _subscription

pytestmark = pytest.mark.django_db

EMAIL = "jane.roe@example.org"
PHONE = "+14155550123"
SURNAME = "Quillfeather"
# What must not be left anywhere: the address (as typed and as a URL carries it), the phone's
# digits, the surname.
TRACES = [EMAIL, "jane.roe%40example.org", "4155550123", SURNAME]


def _traces(needles=TRACES):
    """{(table, column)} where any needle is found: every column of every table in the database,
    read as text (introspected, so a table added later is scanned without being named here)."""
    found = set()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in connection.introspection.get_table_description(cursor, table):
                for needle in needles:
                    cursor.execute(
                        f"SELECT 1 FROM {quote(table)} "
                        f"WHERE LOWER(CAST({quote(column.name)} AS TEXT)) LIKE %s LIMIT 1",
                        [f"%{needle.lower()}%"],
                    )
                    if cursor.fetchone():
                        found.add((table, column.name))
    return found


def _upsert(model, location, ghl_id, **values):
    record_upsert_many(
        location_id=location.pk,
        model=model,
        items=[
            RecordUpsert(ghl_id=ghl_id, values=values, fingerprint=f"fp-{ghl_id}-{len(values)}")
        ],
    )
    return model.objects.get(location=location, ghl_id=ghl_id)


@pytest.fixture
def jane(locations, role_users):
    """Jane across every store: her contact (twice written, so its history has before/after),
    the records under it, a Rankr user with her address, sync-log bodies, a webhook event, a
    job's input and result, an attempt's error, a kept payload, a quarantined record, an
    export searched by her address, and the admin's history of her contact. Bob, at the same
    location, is in some of the same rows."""
    loc = locations["A"]
    _upsert(Contact, loc, "c-jane", email=EMAIL, first_name="Jane", last_name="Roe")
    contact = _upsert(
        Contact,
        loc,
        "c-jane",
        email=EMAIL,
        first_name="Jane",
        last_name=SURNAME,
        phone=PHONE,
        company="Roe Bakery",
        custom_1="1984-02-29",
        tags=["vip"],
    )
    bob = _upsert(
        Contact, loc, "c-bob", email="bob@example.org", first_name="Bob", phone="+14155550999"
    )
    _upsert(
        Note,
        loc,
        "n-1",
        contact_ghl_id="c-jane",
        content=f"Called Jane {SURNAME} on (415) 555-0123",
    )
    _upsert(Task, loc, "t-1", contact_ghl_id="c-jane", title=f"Send {EMAIL} the quote")
    _upsert(Appointment, loc, "a-1", contact_ghl_id="c-jane", title=f"Fitting: Jane {SURNAME}")
    _upsert(Opportunity, loc, "o-1", contact_ghl_id="c-jane", name=f"{SURNAME} wedding cake")
    _upsert(Task, loc, "t-bob", contact_ghl_id="c-bob", title="Call Bob")
    _upsert(RankrUser, loc, "u-jane", email=EMAIL.upper(), full_name=f"Jane {SURNAME}")
    record_soft_delete(location_id=loc.pk, kind="task", ghl_id="t-1")

    contact_json = {
        "id": "c-jane",
        "email": EMAIL,
        "phone": PHONE,
        "firstName": "Jane",
        "lastName": SURNAME,
        "address1": "1 Main St",
    }
    SyncLog.objects.create(
        location=loc,
        method="POST",
        path="/contacts/search?query=jane.roe%40example.org",
        status=200,
        request_summary='{"locationId": "loc-A", "query": "' + EMAIL + '"}',
        # A cut body, no longer JSON: masked by pattern.
        response_summary='{"contacts": [{"id": "c-jane", "email": "'
        + EMAIL
        + '", "phone": "+1 415-555-0123", "firstName": "Jane", "lastName": "Quill… [99 more',
    )
    SyncLog.objects.create(
        location=None,
        method="GET",
        path="/contacts/c-jane",
        status=422,
        error=f"422 Unprocessable: phone {PHONE} invalid",
        response_summary='{"message": "bad"}',
    )
    bob_log = SyncLog.objects.create(
        location=loc,
        method="GET",
        path="/contacts/c-bob",
        status=200,
        response_summary='{"contact": {"id": "c-bob", "email": "bob@example.org"}}',
    )
    WebhookEvent.objects.create(
        webhook_id="wh-1",
        event_type="ContactUpdate",
        highlevel_location_id="loc-A",
        location=loc,
        payload={"type": "ContactUpdate", "locationId": "loc-A", **contact_json},
        status="processed",
    )
    job = Job.objects.create(
        kind="resync",
        location=loc,
        idempotency_key="resync:1",
        subject="c-jane",
        params={"ghl_id": "c-jane", "lookup": {"email": EMAIL}},
        result={"contact": contact_json},
        error_message=f"HighLevel said {EMAIL} is a duplicate",
    )
    JobAttempt.objects.create(
        job=job,
        number=1,
        lease_token=1,
        started_at=timezone.now(),
        error_message=f"duplicate {EMAIL}",
    )
    SourcePayload.objects.create(
        location=loc, entity="contact", ghl_id="c-jane", payload=contact_json
    )
    QuarantinedRecord.objects.create(
        location=loc,
        entity="contact",
        ghl_id="c-jane-2",
        field="phone",
        value=PHONE,
        reason=f"{PHONE} is not E.164",
        record={**contact_json, "id": "c-jane-2"},
    )
    subscription = _subscription(loc, role_users)
    Subscription.objects.filter(pk=subscription.pk).update(
        last_run_error=f"HighLevel answered 422: email {EMAIL} is invalid"
    )
    Connection.objects.filter(pk=subscription.connection_id).update(
        last_error=f"422 for contact {PHONE}"
    )
    LogEntry.objects.create(
        user_id=role_users["superuser"].pk,
        content_type_id=ContentType.objects.get_for_model(Contact).pk,
        object_id=str(contact.pk),
        object_repr=f"Jane {SURNAME}",
        action_flag=CHANGE,
        change_message=f'[{{"changed": {{"fields": ["email"]}}, "was": "{EMAIL}"}}]',
    )
    return {"location": loc, "contact": contact, "bob": bob, "bob_log": bob_log, "job": job}


def _export_searched_for_jane(client, role_users):
    """An auditor's sync-log export searched by Jane's address: its audit entry keeps the query."""
    client.force_login(role_users["superuser"])
    response = client.get(reverse("admin:integrations_synclog_export"), {"q": EMAIL})
    b"".join(response.streaming_content)
    client.logout()


EXPECTED_TABLES = {
    "rankr_contact",
    "rankr_note",
    "rankr_task",
    "rankr_appointment",
    "rankr_opportunity",
    "rankr_rankruser",
    "rankr_recordchange",
    "integrations_synclog",
    "integrations_webhookevent",
    "integrations_job",
    "integrations_jobattempt",
    "integrations_subscription",
    "integrations_connection",
    "mappings_sourcepayload",
    "mappings_quarantinedrecord",
    "portal_auditevent",
    "django_admin_log",
}


def test_an_erased_person_leaves_no_trace_in_any_table(jane, client, role_users, capsys):
    _export_searched_for_jane(client, role_users)
    before = {table for table, _ in _traces()}
    assert before == EXPECTED_TABLES  # the scan finds every seeded store before

    call_command("erase_person", "--location", "loc-A", "--email", EMAIL, "--actor", "staffer")

    assert _traces() == set()
    out = capsys.readouterr().out
    assert "Erased at" in out and EMAIL not in out
    contact = Contact.objects.get(pk=jane["contact"].pk)
    assert (contact.ghl_id, contact.email, contact.phone, contact.first_name) == (
        "c-jane",
        "",
        "",
        "",
    )
    assert contact.custom_1 == "" and contact.tags == ["vip"]  # not personal: kept
    assert Note.objects.get(ghl_id="n-1").content == ""
    task = Task.objects.get(ghl_id="t-1")
    assert task.title == "" and task.deleted_at is not None  # deleted ones too, rows kept

    tombstones = ErasureTombstone.objects.order_by("entity")
    assert [(t.entity, t.ghl_id, t.reason) for t in tombstones] == [
        ("contact", "c-jane", "request"),
        ("user", "u-jane", "request"),
    ]
    assert tombstones[0].email_hash == erasure.identifier_hash(kind="email", value=EMAIL)
    assert tombstones[0].erased_by == role_users["staff"]
    event = AuditEvent.objects.get(action="person.erased")
    assert event.actor == role_users["staff"] and event.location == jane["location"]
    assert event.detail["tombstones"] == sorted(t.pk for t in tombstones)
    assert event.detail["rows"]["sync_log"] == 2 and event.detail["rows"]["records"] == 6

    # Bob, at the same location and in some of the same tables, keeps everything.
    bob = Contact.objects.get(pk=jane["bob"].pk)
    assert (bob.email, bob.first_name, bob.phone) == ("bob@example.org", "Bob", "+14155550999")
    assert Task.objects.get(ghl_id="t-bob").title == "Call Bob"
    assert SyncLog.objects.get(pk=jane["bob_log"].pk).response_summary.count("bob@example.org") == 1
    # Not personal data: ids and what the rows were about stay for operators.
    log = SyncLog.objects.get(error__contains="422")
    assert log.path == "/contacts/c-jane" and ERASED in log.error
    assert Job.objects.get(pk=jane["job"].pk).params["ghl_id"] == "c-jane"
    # Her raw payload goes (an emptied one would be re-applied as if HighLevel had emptied her).
    assert not SourcePayload.objects.filter(ghl_id="c-jane").exists()
    assert event.detail["rows"]["raw_payloads"] == 1


def test_asking_again_scrubs_what_arrived_since_without_a_new_tombstone(jane):
    person_erase(location_id=jane["location"].pk, email=EMAIL)
    # A webhook about her arrives after the erasure (HighLevel still had her).
    WebhookEvent.objects.create(
        webhook_id="wh-late", location=jane["location"], payload={"id": "c-jane", "phone": PHONE}
    )
    assert _traces() == {("integrations_webhookevent", "payload")}

    again = person_erase(location_id=jane["location"].pk, email=EMAIL)

    assert _traces() == set()
    assert again.tombstone_ids == [] and ErasureTombstone.objects.count() == 2
    assert AuditEvent.objects.filter(action="person.erased").count() == 2


def test_erasing_by_phone_finds_the_same_person(jane):
    result = person_erase(location_id=jane["location"].pk, phone="+1 (415) 555-0123")
    assert result.tombstone_ids and _traces() == set()


def test_erasing_an_unknown_person_is_a_clear_error_and_changes_nothing(jane):
    with pytest.raises(CommandError, match="No Rankr contact or user of Location A matches"):
        call_command("erase_person", "--location", "loc-A", "--email", "nobody@example.org")
    # Jane at another location is not Jane here.
    with pytest.raises(ErasureError, match="nothing was erased") as error:
        person_erase(location_id=jane["location"].pk + 1, email=EMAIL)
    assert error.value.permanent
    with pytest.raises(ErasureError, match="not an e-mail address"):
        person_erase(location_id=jane["location"].pk, email="jane at example")
    with pytest.raises(CommandError, match="No location 'loc-Z'"):
        call_command("erase_person", "--location", "loc-Z", "--email", EMAIL)
    assert not ErasureTombstone.objects.exists()
    assert not AuditEvent.objects.filter(action="person.erased").exists()
    assert Contact.objects.get(pk=jane["contact"].pk).email == EMAIL


def test_only_agency_staff_hold_the_erase_permission():
    holders = {role for role, perms in ROLE_PERMISSIONS.items() if "rankr.erase_contact" in perms}
    assert holders == {"Agency staff"}


CHANGELIST = reverse("admin:rankr_contact_changelist")


@pytest.mark.parametrize("role", ["auditor", "support"])
def test_roles_without_the_permission_get_no_erase_action(client, role_users, jane, role):
    client.force_login(role_users[role])
    assert b"erase_personal_data" not in client.get(CHANGELIST).content
    client.post(
        CHANGELIST,
        {
            "action": "erase_personal_data",
            "_selected_action": [jane["contact"].pk],
            "confirmed": "yes",
        },
    )
    assert Contact.objects.get(pk=jane["contact"].pk).email == EMAIL
    assert not ErasureTombstone.objects.exists()


def test_staff_erase_a_contact_from_the_admin_after_confirming(client, role_users, jane):
    client.force_login(role_users["staff"])
    data = {"action": "erase_personal_data", "_selected_action": [jane["contact"].pk]}
    assert b"erase_personal_data" in client.get(CHANGELIST).content
    confirm = client.post(CHANGELIST, data)
    assert confirm.status_code == 200 and b"cannot be undone" in confirm.content
    assert not Job.objects.filter(kind="erase").exists()  # nothing yet

    done = client.post(CHANGELIST, {**data, "confirmed": "yes"}, follow=True)

    job = Job.objects.get(kind="erase")
    assert b"Erasure queued for 1 contact(s)" in done.content
    assert job.params == {"contact_id": jane["contact"].pk} and job.location == jane["location"]
    assert Contact.objects.get(pk=jane["contact"].pk).email == EMAIL  # the worker erases
    assert job_run(job_id=job.pk) == "succeeded"
    # Found by the contact, the person is also the Rankr user holding the contact's address.
    assert Contact.objects.get(pk=jane["contact"].pk).email == ""
    assert sorted(ErasureTombstone.objects.values_list("entity", flat=True)) == ["contact", "user"]
    event = AuditEvent.objects.get(action="person.erased")
    assert event.actor == role_users["staff"]
    assert Job.objects.get(pk=job.pk).result["audit_event"] == event.pk
    assert _traces() == set()


def test_staff_cannot_erase_a_contact_of_a_location_they_do_not_see(client, role_users, locations):
    theirs = Contact.objects.create(location=locations["C"], ghl_id="c-x", email=EMAIL)
    client.force_login(role_users["staff"])
    client.post(
        CHANGELIST,
        {"action": "erase_personal_data", "_selected_action": [theirs.pk], "confirmed": "yes"},
    )
    assert not Job.objects.filter(kind="erase").exists()
    with pytest.raises(ErasureError, match="in your locations; nothing was erased"):
        erasure.erasure_enqueue(contact_id=theirs.pk, user_id=role_users["staff"].pk)
    assert Contact.objects.get(pk=theirs.pk).email == EMAIL


def test_deleted_records_lose_personal_data_after_the_grace_period(locations, settings):
    settings.ERASE_DELETED_RECORDS_AFTER_DAYS = 30
    loc = locations["A"]
    for ghl_id in ("c-old", "c-recent", "c-live"):
        _upsert(Contact, loc, ghl_id, email=f"{ghl_id}@example.org", first_name="Ann")
        SourcePayload.objects.create(
            location=loc,
            entity="contact",
            ghl_id=ghl_id,
            payload={"email": f"{ghl_id}@example.org"},
        )
    _upsert(Note, loc, "n-old", contact_ghl_id="c-old", content="Ann's new address")
    record_soft_delete(location_id=loc.pk, kind="contact", ghl_id="c-old")
    record_soft_delete(location_id=loc.pk, kind="contact", ghl_id="c-recent")
    Contact.objects.filter(ghl_id="c-old").update(deleted_at=timezone.now() - timedelta(days=31))
    Contact.objects.filter(ghl_id="c-recent").update(deleted_at=timezone.now() - timedelta(days=5))

    cache.delete(erasure.service.EXPIRY_GATE)
    assert erasure.deleted_records_erase_due() == {"contact": 1}
    assert erasure.deleted_records_erase_due() is None  # hourly, not every tick

    old = Contact.objects.get(ghl_id="c-old")
    assert (old.email, old.first_name, old.deleted_at is not None) == ("", "", True)
    assert _traces(["c-old@example.org", "Ann's new address"]) == set()
    assert Contact.objects.get(ghl_id="c-recent").email == "c-recent@example.org"
    assert Contact.objects.get(ghl_id="c-live").email == "c-live@example.org"
    tombstone = ErasureTombstone.objects.get()
    assert (tombstone.ghl_id, tombstone.reason, tombstone.erased_by) == ("c-old", "expired", None)
    assert tombstone.email_hash == erasure.identifier_hash(kind="email", value="c-old@example.org")
    assert AuditEvent.objects.get(action="records.personal_data_expired").detail["records"] == {
        "contact": 1
    }
    # Once erased, the record is not erased again at every run.
    assert erasure.deleted_records_erase(before=timezone.now()) == {"contact": 1}  # c-recent
    assert erasure.deleted_records_erase(before=timezone.now()) == {}


def test_the_grace_period_setting_zero_keeps_deleted_records(locations, settings):
    settings.ERASE_DELETED_RECORDS_AFTER_DAYS = 0
    _upsert(Contact, locations["A"], "c-old", email="old@example.org")
    record_soft_delete(location_id=locations["A"].pk, kind="contact", ghl_id="c-old")
    Contact.objects.update(deleted_at=timezone.now() - timedelta(days=400))
    assert erasure.deleted_records_erase_due() is None
    assert Contact.objects.get().email == "old@example.org"


def test_a_person_is_masked_in_cut_bodies_query_strings_and_nested_json():
    person = Person(location_id=1, emails=(EMAIL,), phones=(PHONE,), names=("Jane", SURNAME))
    text = (
        '{"a": {"email": "x@y.z", "note": "ring +1 415 555 0123"}, "lastName": "Quill'
        f"&q=jane.roe%40example.org&name=Jane+{SURNAME}"
    )
    masked = person.text_mask(text)
    assert "x@y.z" not in masked and "555" not in masked and "jane" not in masked.lower()
    assert "Quill" not in masked and SURNAME not in masked
    value = person.value_mask({"contacts": [{"id": "c-1", "name": "Jane", "tags": ["Jane"]}]})
    assert value == {"contacts": [{"id": "c-1", "name": ERASED, "tags": [ERASED]}]}


def test_a_new_store_is_one_registration_line(jane):
    """A table registered with ``column_store`` is scrubbed by the next erasure."""
    from integrations.sync.erasure.stores import column_store

    Verification = apps.get_model("integrations", "Verification")
    row = Verification.objects.create(location=jane["location"], entity="contact", details=[EMAIL])
    store = column_store("verifications", Verification, ("details",))
    STORES.append(store)
    try:
        person_erase(location_id=jane["location"].pk, email=EMAIL)
    finally:
        STORES.remove(store)
    assert Verification.objects.get(pk=row.pk).details == [ERASED]


# Tables whose text and JSON columns hold no person's data of a location's contacts: portal
# accounts and configuration, ids, counts, HighLevel's emulator. A new table goes either in
# erasure.stores.STORES or here, with its reason.
NO_PERSONAL_DATA = {
    "integrations.Heartbeat": "process liveness: component, host, pid, times",
    "admin.LogEntry": "a store (admin_log), keyed by record",
    "auth.Permission": "configuration",
    "auth.Group": "configuration",
    "auth.User": "portal users, not contacts",
    "contenttypes.ContentType": "configuration",
    "sessions.Session": "portal users' sessions",
    "account.EmailAddress": "portal users",
    "account.EmailConfirmation": "portal users",
    "mfa.Authenticator": "portal users",
    "socialaccount.SocialApp": "configuration",
    "socialaccount.SocialAccount": "portal users",
    "socialaccount.SocialToken": "portal users",
    "django_q.Task": "task arguments are ids",
    "django_q.Success": "task arguments are ids",
    "django_q.Failure": "task arguments are ids",
    "django_q.Schedule": "configuration",
    "django_q.OrmQ": "task arguments are ids",
    "portal.Agency": "agencies",
    "portal.Location": "locations",
    "portal.AlertSetting": "portal users",
    "portal.AlertSignal": "job and location ids",
    "portal.AlertIncident": "portal users' names",
    "portal.AgencySingleSignOn": "configuration",
    "integrations.HighLevelApp": "configuration",
    "integrations.LocationMintBatch": "location ids",
    "integrations.RateBucket": "counters",
    "integrations.SubscriptionSeen": "HighLevel ids",
    "integrations.EntityCoverage": "cursors of ids",
    "integrations.Verification": "HighLevel ids and field names only",
    "integrations.SpecDeviation": "schema messages",
    "integrations.ErasureTombstone": "keyed hashes only",
    "mappings.Mapping": "rules",
    "mappings.MappingVersion": "rules",
    "mappings.MappingTemplate": "rules",
    "mappings.MappingTemplateVersion": "rules",
    "mappings.Rollout": "location ids",
    "entityapp.Widget": "a test app's entity",
}


def test_every_table_is_a_personal_data_store_or_declared_free_of_it():
    stored = {
        "integrations.SyncLog",
        "integrations.WebhookEvent",
        "integrations.Job",
        "integrations.JobAttempt",
        "integrations.Subscription",
        "integrations.Connection",
        "mappings.SourcePayload",
        "mappings.QuarantinedRecord",
        "portal.AuditEvent",
        "rankr.RecordChange",
        *(m._meta.label for m in apps.get_app_config("rankr").get_models()),
    }
    assert {s.name for s in STORES} >= {"records", "sync_log", "webhook_events", "jobs"}
    textual = {
        model._meta.label
        for model in apps.get_models()
        if model._meta.app_label not in ("sandbox", "sandbox_access")
        and any(
            isinstance(f, (models.CharField, models.TextField, models.JSONField))
            for f in model._meta.concrete_fields
        )
    }
    unclassified = textual - stored - set(NO_PERSONAL_DATA)
    assert not unclassified, (
        f"{sorted(unclassified)}: register a store in integrations/sync/erasure/stores.py "
        "or add the table to NO_PERSONAL_DATA with the reason it holds none"
    )


def test_the_scheduler_tick_erases_expired_deleted_records(locations, settings):
    from integrations.interfaces.tasks import tick_task

    settings.ERASE_DELETED_RECORDS_AFTER_DAYS = 30
    cache.delete(erasure.service.EXPIRY_GATE)
    _upsert(Contact, locations["A"], "c-old", email="old@example.org", first_name="Olde")
    record_soft_delete(location_id=locations["A"].pk, kind="contact", ghl_id="c-old")
    Contact.objects.update(deleted_at=timezone.now() - timedelta(days=31))

    tick_task()

    assert Contact.objects.get().email == ""
    assert ErasureTombstone.objects.get().reason == "expired"
