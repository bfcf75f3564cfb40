"""*Export CSV*: exactly the rows the user may see, as filtered, secrets masked, audited."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from integrations.models import Job, SyncLog, WebhookEvent
from portal.models import AuditEvent

LOGS_CSV = reverse("admin:integrations_synclog_export")
JOBS_CSV = reverse("admin:integrations_job_export")
WEBHOOKS_CSV = reverse("admin:integrations_webhookevent_export")
SECRETS = [
    "AT-secret-path-111",
    "RT-secret-json-222",
    "BEARER-secret-333",
    "FORM-secret-444",
    "PARAM-secret-555",
    "PAYLOAD-secret-666",
    "ERR-secret-777",
    "CS-secret-888",
]


def _rows(response):
    assert response.status_code == 200, response.status_code
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text))), text


@pytest.fixture
def jobs(locations):
    return {
        key: Job.objects.create(
            kind="poll",
            status="failed" if key != "B" else "succeeded",
            location=loc,
            idempotency_key=f"k-{key}",
            subject=f"hl-{key}",
        )
        for key, loc in locations.items()
    }


def test_staff_export_only_their_locations_jobs(client, role_users, jobs):
    client.force_login(role_users["staff"])
    page = client.get(reverse("admin:integrations_job_changelist"), {"status__exact": "failed"})
    assert JOBS_CSV.encode() in page.content  # the button carries the list's filters
    rows, _ = _rows(client.get(JOBS_CSV))
    assert sorted(r["subject"] for r in rows) == ["hl-A", "hl-B"]
    rows, _ = _rows(client.get(JOBS_CSV, {"status__exact": "failed"}))
    assert [r["subject"] for r in rows] == ["hl-A"]
    rows, _ = _rows(client.get(JOBS_CSV, {"q": "hl-C"}))
    assert rows == []


def test_the_export_action_exports_the_selected_rows_in_scope(client, role_users, jobs):
    client.force_login(role_users["staff"])
    response = client.post(
        reverse("admin:integrations_job_changelist"),
        {"action": "export_csv", "_selected_action": [jobs["A"].pk, jobs["C"].pk]},
    )
    rows, _ = _rows(response)
    assert [r["subject"] for r in rows] == ["hl-A"]
    assert AuditEvent.objects.get(action="logs.exported").detail["selected"] == 2


def test_every_export_is_an_audit_event(client, role_users, locations, jobs):
    client.force_login(role_users["auditor"])
    _rows(client.get(JOBS_CSV, {"location": locations["C"].pk, "status__exact": "failed"}))
    event = AuditEvent.objects.get(action="logs.exported")
    assert event.actor == role_users["auditor"] and event.location == locations["C"]
    assert (
        event.detail["model"] == "integrations.Job"
        and "status__exact=failed" in event.detail["query"]
    )


def test_the_sync_log_export_masks_every_secret(client, role_users, locations):
    SyncLog.objects.create(
        location=locations["A"],
        method="POST",
        path=f"/oauth/token?access_token={SECRETS[0]}&x=1",
        status=401,
        error=f"401 from HighLevel with Authorization: Bearer {SECRETS[2]}",
        request_summary=f"client_id=abc&client_secret={SECRETS[7]}&refresh_token={SECRETS[3]}",
        response_summary=f'{{"refresh_token": "{SECRETS[1]}", "userType": "Location"}}',
        trace_id="trace-secret",
    )
    Job.objects.create(
        kind="action",
        location=locations["A"],
        idempotency_key="k-s",
        params={"contact": {"token": SECRETS[4]}, "n": 1},
        error_message=f"refused: apiKey={SECRETS[6]}",
    )
    WebhookEvent.objects.create(
        webhook_id="wh-s",
        location=locations["A"],
        payload={"type": "X", "data": {"accessToken": SECRETS[5]}},
    )
    client.force_login(role_users["auditor"])
    texts = [_rows(client.get(url))[1] for url in (LOGS_CSV, JOBS_CSV, WEBHOOKS_CSV)]
    everything = "\n".join(texts)
    assert "trace-secret" in everything and "userType" in everything and "wh-s" in everything
    assert "***" in everything
    leaked = [secret for secret in SECRETS if secret in everything]
    assert leaked == []


def test_a_formula_in_a_cell_is_not_run_by_a_spreadsheet(client, role_users, locations):
    SyncLog.objects.create(
        location=locations["A"], method="GET", path="/x", error='=HYPERLINK("evil")'
    )
    client.force_login(role_users["auditor"])
    rows, _ = _rows(client.get(LOGS_CSV))
    assert rows[0]["error"].startswith("'=")


@pytest.mark.parametrize("role", ["auditor", "support"])
def test_auditors_and_support_may_export_the_sync_log(client, role_users, locations, role):
    SyncLog.objects.create(location=locations["C"], method="GET", path="/contacts/", status=200)
    client.force_login(role_users[role])
    rows, _ = _rows(client.get(LOGS_CSV))
    assert len(rows) == 1 and rows[0]["HighLevel location id"] == "loc-C"


def test_without_the_export_permission_there_is_no_button_and_no_file(
    client, role_users, locations
):
    staff = role_users["staff"]
    client.force_login(staff)
    assert client.get(LOGS_CSV).status_code == 403  # staff do not see the sync log at all
    staff.groups.clear()
    staff.user_permissions.add(Permission.objects.get(codename="view_job"))
    page = client.get(reverse("admin:integrations_job_changelist"))
    assert page.status_code == 200 and JOBS_CSV.encode() not in page.content
    assert b'value="export_csv"' not in page.content
    assert client.get(JOBS_CSV).status_code == 403
    assert not AuditEvent.objects.filter(action="logs.exported").exists()


def test_the_export_reads_rows_in_chunks(locations, monkeypatch):
    """Bounded memory: the rows come through QuerySet.iterator(chunk_size=…), never a list."""
    from django.db.models.query import QuerySet

    from integrations.admin.synclog import SyncLogAdmin
    from portal.export import csv_lines

    SyncLog.objects.bulk_create(
        SyncLog(location=locations["A"], method="GET", path=f"/c/{i}") for i in range(5)
    )
    chunks = []
    real = QuerySet.iterator

    def spy(self, chunk_size=None):
        chunks.append(chunk_size)
        return real(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    lines = csv_lines(
        queryset=SyncLog.objects.all(), columns=SyncLogAdmin.export_columns, chunk_size=2
    )
    assert len(list(lines)) == 6 and chunks == [2]


def test_exports_name_the_connection_and_the_location_of_oauth_rows(client, role_users, locations):
    from integrations.models import Connection, HighLevelApp

    app = HighLevelApp(name="Rankr", client_id="cid-x", redirect_url="http://testserver/cb/")
    app.client_secret = "secret-value"
    app.save()
    connection = Connection(app=app, agency=locations["A"].agency, location=locations["A"])
    connection.access_token = "token-value"
    connection.save()
    # A token refresh: HighLevel's OAuth endpoint names no location, so the row has none of its own.
    SyncLog.objects.create(
        connection=connection, location=None, method="POST", path="/oauth/token", status=200
    )
    Job.objects.create(
        kind="action",
        status="succeeded",
        location=locations["A"],
        connection=connection,
        idempotency_key="named",
    )
    client.force_login(role_users["auditor"])
    [log], _ = _rows(client.get(LOGS_CSV))
    assert (log["connection"], log["location"], log["HighLevel location id"]) == (
        "Location A via Rankr",
        "Location A",
        "loc-A",
    )
    assert log["connection id"] == str(connection.pk)
    [job], _ = _rows(client.get(JOBS_CSV))
    assert job["connection"] == "Location A via Rankr"
