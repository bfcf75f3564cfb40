"""Redaction by key pattern and by the value of every secret the connection holds, everywhere."""

import csv
import io
import json

import pytest
import responses
from django.contrib.auth.models import User
from django.urls import reverse

from integrations.catalog.services import operation_run
from integrations.models import Job, SyncLog
from integrations.sync.jobs import job_run
from portal.models import AuditEvent
from portal.redact import value_redact
from tests.integrations.conftest import ACCESS, CLIENT_SECRET, REFRESH

EVERY_SECRET = (ACCESS, REFRESH, CLIENT_SECRET)
RUN = reverse("catalog:run") + "?op=GET%20/contacts/%7BcontactId%7D"


def leaks(text):
    return [secret for secret in EVERY_SECRET if secret in text]


@pytest.mark.parametrize(
    "key",
    [
        "authToken",
        "authenticationValue",
        "x-api-key",
        "apiKey",
        "privateKey",
        "sessionToken",
        "clientSecret",
        "webhookSecret",
    ],
)
def test_secret_looking_keys_are_masked_by_pattern(key):
    assert value_redact({"outer": [{key: "s3cr3t-value"}], "locationId": "loc-1"}) == {
        "outer": [{key: "***"}],
        "locationId": "loc-1",
    }


def test_the_sync_log_masks_every_secret_of_the_connection_under_any_key(
    connection, mocked, api_base, settings
):
    settings.SYNC_LOG_BODY_SAMPLE = 1  # a success's bodies are kept (sampled): redacted
    mocked.add(
        responses.GET,
        f"{api_base}/contacts/c1",
        json={
            "contact": {
                "id": "c1",
                "notes": f"refresh with {REFRESH}",
                "misc": {"k": CLIENT_SECRET},
            },
        },
    )
    operation_run(
        connection_id=connection.pk,
        operation_id="GET /contacts/{contactId}",
        params={"contactId": "c1"},
    )
    log = SyncLog.objects.get()
    assert leaks(log.response_summary + log.request_summary + log.path) == []
    assert "***" in log.response_summary


@pytest.fixture
def admin_client(client, db):
    client.force_login(
        User.objects.create_superuser("root", "root@example.test", "x-unused-password-1")
    )
    return client


def test_the_run_result_page_shows_highlevels_answer_redacted(
    admin_client, connection, mocked, api_base
):
    mocked.add(
        responses.GET,
        f"{api_base}/contacts/c1",
        json={
            "contact": {
                "id": "c1",
                "authToken": "tok-embedded-999",
                "echo": ACCESS,
                "comment": f"secret {CLIENT_SECRET} inside",
            },
        },
    )
    html = admin_client.post(
        RUN, {"connection": str(connection.pk), "p_contactId": "c1"}, follow=True
    ).content.decode()
    assert "&quot;id&quot;: &quot;c1&quot;" in html
    assert "tok-embedded-999" not in html and leaks(html) == []


def test_a_token_inside_a_requests_error_is_never_shown_stored_or_audited(
    admin_client, connection, mocked
):
    # A token with a line break (pasted, or a bad answer) makes requests refuse the header, quoting it.
    broken = "at-broken-token-4242\n"
    connection.access_token = broken
    connection.save()
    html = admin_client.post(
        RUN, {"connection": str(connection.pk), "p_contactId": "c1"}, follow=True
    ).content.decode()
    assert "at-broken-token-4242" not in html
    job = Job.objects.get(kind="action")
    assert (
        "could not be sent" in job.error_message and "at-broken-token-4242" not in job.error_message
    )
    assert "at-broken-token-4242" not in json.dumps(
        AuditEvent.objects.get(action="catalog.run").detail
    )
    assert len(mocked.calls) == 0
    job.connection.refresh_from_db()
    assert "at-broken-token-4242" not in job.connection.last_error


def failing_handler(job):
    """A handler failing with a message that quotes secrets (as a library's error might)."""
    raise RuntimeError(f"unexpected answer to refresh_token {REFRESH} and {CLIENT_SECRET}")


def test_a_job_failing_with_a_secret_in_its_exception_stores_and_logs_it_masked(
    connection, monkeypatch, caplog
):
    from integrations.sync import jobs as jobs_module

    monkeypatch.setitem(jobs_module.JOB_HANDLERS, "action", f"{__name__}.failing_handler")
    job = Job.objects.create(
        kind="action",
        status="queued",
        connection=connection,
        location=connection.location,
        operation="GET /contacts/{contactId}",
        idempotency_key="k-leak",
        params={"params": {"contactId": "c1"}},
    )
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "unexpected answer" in job.error_message
    assert leaks(job.error_message) == [] and leaks(caplog.text) == []
    assert "unexpected answer" in caplog.text


def test_action_job_input_is_masked_by_value(admin_client, connection, mocked, api_base):
    mocked.add(responses.PUT, f"{api_base}/contacts/c1", json={"contact": {"id": "c1"}})
    admin_client.post(
        reverse("catalog:run") + "?op=PUT%20/contacts/%7BcontactId%7D",
        {
            "connection": str(connection.pk),
            "p_contactId": "c1",
            "body": json.dumps({"firstName": "Ada", "source": f"copied {ACCESS}"}),
        },
    )
    job = Job.objects.get(kind="action")
    assert leaks(json.dumps(job.params)) == [] and job.params["secrets_left_out"] is True


def test_exports_mask_the_connections_secrets_by_value(admin_client, connection):
    # Rows written before a rule existed (or by a path that forgot): the export still masks them.
    SyncLog.objects.create(
        connection=connection,
        location=connection.location,
        method="GET",
        path="/contacts/c1",
        status=500,
        error=f"odd {REFRESH}",
        response_summary=json.dumps({"weird": ACCESS}),
    )
    Job.objects.create(
        kind="poll",
        status="failed",
        connection=connection,
        location=connection.location,
        idempotency_key="k-x",
        error_message=f"boom {CLIENT_SECRET}",
    )
    for name in ("synclog", "job"):
        response = admin_client.get(reverse(f"admin:integrations_{name}_export"))
        text = b"".join(response.streaming_content).decode()
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows and leaks(text) == []


def test_a_big_body_s_summary_redacts_only_what_it_keeps_and_keeps_what_whole_redaction_would(
    monkeypatch,
):
    from portal import redact

    page = {
        "contacts": [
            {"id": f"c{n}", "email": f"person{n}@example.com", "token": ACCESS, "note": ACCESS}
            for n in range(5000)
        ],
        "meta": {"total": 5000},
    }
    whole = json.dumps(value_redact(page, secrets=EVERY_SECRET, personal=True))
    redacted = []
    real = redact.text_redact
    monkeypatch.setattr(
        redact, "text_redact", lambda text, **kw: redacted.append(text) or real(text, **kw)
    )
    summary = redact.summary_make(body=page, secrets=EVERY_SECRET, personal=True, limit=2000)
    assert summary[:2000] == whole[:2000] and not leaks(summary)
    assert "more characters]" in summary and len(summary) < 2100
    assert len(redacted) < 500  # a few records past the cut, not the 5,000 of them
