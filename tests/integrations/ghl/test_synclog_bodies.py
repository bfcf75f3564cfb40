"""The sync log keeps every call's metadata; bodies only for failures and a sample of successes,
with secrets and personal data (names, e-mail addresses, phone numbers) masked."""

import pytest
import responses
from django.db import connection as db
from django.test import override_settings

from integrations.catalog.services import operation_run
from integrations.ghl import transport
from integrations.ghl.client import ghl_request
from integrations.ghl.errors import GhlInvalid, GhlNotFound
from integrations.models import SyncLog

pytestmark = pytest.mark.django_db

ADA = {
    "id": "c1",
    "firstName": "Adalind",
    "lastName": "Quorrington",
    "name": "Adalind Quorrington",
    "email": "adalind.q@example.org",
    "phone": "+15550104477",
    "companyName": "Acme",
    "customFields": [{"id": "f1", "value": "call +44 20 7946 0958 or ada.alt@mail.example.com"}],
}
TRACES = ("Adalind", "Quorrington", "adalind.q@example.org", "+15550104477", "5550104477")
TRACES += ("7946 0958", "ada.alt@mail.example.com")


def synclog_text() -> str:
    """Every text column of every sync-log row, read straight from the table."""
    columns = [
        f.column
        for f in SyncLog._meta.fields
        if f.get_internal_type() in ("CharField", "TextField")
    ]
    with db.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {SyncLog._meta.db_table}")
        return "\n".join(str(value) for row in cursor.fetchall() for value in row)


@override_settings(SYNC_LOG_BODY_SAMPLE=0)
def test_a_success_keeps_metadata_and_sizes_but_no_bodies(connection, mocked, api_base):
    mocked.add(responses.GET, f"{api_base}/contacts/c1", json={"contact": ADA})
    operation_run(
        connection_id=connection.pk,
        operation_id="GET /contacts/{contactId}",
        params={"contactId": "c1"},
        job_id=5,
    )
    log = SyncLog.objects.get()
    assert (log.operation_id, log.status, log.attempt, log.job_id, log.record_ids) == (
        "GET /contacts/{contactId}",
        200,
        1,
        5,
        "c1",
    )
    assert log.response_bytes == len(mocked.calls[0].response.content) > 100
    assert (log.request_summary, log.response_summary) == ("", "")


@override_settings(SYNC_LOG_BODY_SAMPLE=0)
def test_a_failure_keeps_its_bodies_with_personal_data_masked(connection, mocked, api_base):
    mocked.add(
        responses.POST,
        f"{api_base}/contacts/",
        status=422,
        json={"message": f"Duplicate contact: {ADA['email']} ({ADA['phone']})", "contact": ADA},
    )
    with pytest.raises(GhlInvalid):
        ghl_request(
            connection_id=connection.pk,
            method="POST",
            path="/contacts/",
            json={k: v for k, v in ADA.items() if k != "id"},
        )
    log = SyncLog.objects.get()
    assert log.status == 422 and log.request_summary and log.response_summary
    assert '"companyName": "Acme"' in log.request_summary  # what is not personal stays
    assert '"email": "***"' in log.request_summary
    assert "Duplicate contact: *** (***)" in log.response_summary
    found = [trace for trace in TRACES if trace in synclog_text()]
    assert found == []


@override_settings(SYNC_LOG_BODY_SAMPLE=1)
def test_a_sampled_success_is_masked_too_and_nothing_personal_reaches_the_table(
    connection, mocked, api_base
):
    mocked.add(responses.GET, f"{api_base}/contacts/c1", json={"contact": ADA})
    mocked.add(responses.GET, f"{api_base}/contacts/", json={"contacts": [ADA], "total": 1})
    operation_run(
        connection_id=connection.pk,
        operation_id="GET /contacts/{contactId}",
        params={"contactId": "c1"},
    )
    ghl_request(
        connection_id=connection.pk,
        method="GET",
        path="/contacts/",
        params={"query": ADA["email"], "phone": ADA["phone"]},
    )
    assert SyncLog.objects.exclude(response_summary="").count() == 2
    assert '"companyName": "Acme"' in SyncLog.objects.first().response_summary
    found = [trace for trace in TRACES if trace in synclog_text()]
    assert found == []


@override_settings(SYNC_LOG_BODY_SAMPLE=0.01)
def test_successes_are_sampled_at_the_configured_share(connection, mocked, api_base, monkeypatch):
    draws = iter([0.5, 0.009, 0.011])
    monkeypatch.setattr(transport.random, "random", lambda: next(draws))
    for _ in range(3):
        mocked.add(responses.GET, f"{api_base}/x", json={"ok": True})
        ghl_request(connection_id=connection.pk, method="GET", path="/x")
    kept = list(SyncLog.objects.order_by("pk").values_list("response_summary", flat=True))
    assert kept == ["", '{"ok": true}', ""]


@override_settings(SYNC_LOG_BODY_SAMPLE=0)
def test_a_not_found_is_a_failure_and_keeps_its_body(connection, mocked, api_base):
    mocked.add(responses.GET, f"{api_base}/x", status=404, json={"message": "Contact not found"})
    with pytest.raises(GhlNotFound):
        ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert "Contact not found" in SyncLog.objects.get().response_summary


def test_record_ids_are_the_paths_ids_but_the_locations():
    from integrations.ghl.paths import path_record_ids

    assert path_record_ids(
        template="/locations/{locationId}/customFields/{id}",
        path="/locations/loc-1/customFields/f9",
    ) == ("f9",)
    assert path_record_ids(
        template="/contacts/{contactId}/tasks/{taskId}", path="/contacts/c%201/tasks/t2?x=1"
    ) == ("c 1", "t2")
    assert path_record_ids(template="/contacts/{contactId}", path="/users/u1") == ()
