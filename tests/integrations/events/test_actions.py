"""Catalog *Run action*: every real run is an "action" job with its status and trace id."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from responses import matchers

from integrations.models import Job, SyncLog
from integrations.sync.jobs import job_rerun, job_run
from portal.models import AuditEvent
from tests.integrations.conftest import ACCESS


def run_url(key):
    return reverse("catalog:run") + "?" + "op=" + key


@pytest.fixture
def root(client, db):
    user = User.objects.create_superuser("root", password="x")
    client.force_login(user)
    return user


@pytest.mark.django_db
def test_a_real_run_is_recorded_as_a_succeeded_action_job(
    client, root, events_connection, location, mocked, api_base
):
    mocked.get(
        f"{api_base}/contacts/c1",
        json={"contact": {"id": "c1"}},
        match=[matchers.header_matcher({"Authorization": f"Bearer {ACCESS}"})],
        headers={"x-trace-id": "tr-5"},
    )
    html = client.post(
        run_url("GET /contacts/{contactId}"),
        {"connection": events_connection.pk, "p_contactId": "c1"},
        follow=True,
    ).content.decode()
    job = Job.objects.get()
    assert (job.kind, job.status, job.operation, job.location, job.connection) == (
        "action",
        "succeeded",
        "GET /contacts/{contactId}",
        location,
        events_connection,
    )
    assert job.result == {"status": 200, "trace_id": "tr-5"} and job.created_by == root
    assert job.params["params"] == {"contactId": "c1"}
    assert f"job #{job.pk}" in html
    assert SyncLog.objects.get().job_id == job.pk
    assert AuditEvent.objects.get(action="catalog.run").detail["job_id"] == job.pk


@pytest.mark.django_db
def test_a_refused_run_is_a_failed_job_that_can_be_rerun(
    client, root, events_connection, mocked, api_base
):
    mocked.get(
        f"{api_base}/contacts/c1",
        status=404,
        json={"message": "Contact not found"},
        headers={"x-trace-id": "tr-6"},
    )
    client.post(
        run_url("GET /contacts/{contactId}"),
        {"connection": events_connection.pk, "p_contactId": "c1"},
    )
    job = Job.objects.get()
    assert (job.status, job.error_class, job.result["status"], job.result["trace_id"]) == (
        "failed",
        "GhlNotFound",
        404,
        "tr-6",
    )
    mocked.replace("GET", f"{api_base}/contacts/c1", json={"contact": {"id": "c1"}})
    assert job_rerun(job_ids=[job.pk], user_id=root.pk) == 1
    assert job_run(job_id=job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.result["status"] == 200 and job.reruns == 1


@pytest.mark.django_db
def test_dry_runs_make_no_job(client, root, events_connection):
    client.post(
        run_url("GET /contacts/{contactId}"),
        {"connection": events_connection.pk, "p_contactId": "c1", "dry_run": "on"},
    )
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_secret_fields_are_not_stored_and_such_a_job_is_not_resent(
    client, root, events_connection, mocked, api_base
):
    mocked.post(f"{api_base}/users/", status=422, json={"message": "bad"})
    body = (
        '{"companyId": "comp-1", "firstName": "A", "lastName": "B", "email": "a@b.io", '
        '"password": "hunter2-secret", "type": "account", "role": "user", "locationIds": ["loc-1"]}'
    )
    client.post(run_url("POST /users/"), {"connection": events_connection.pk, "body": body})
    job = Job.objects.get()
    assert "hunter2-secret" not in str(job.params) and job.params["secrets_left_out"] is True
    assert "hunter2-secret" not in str(dict(client.session))  # nor kept for the result page
    job_rerun(job_ids=[job.pk], user_id=root.pk)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "secret fields" in job.error_message
    assert len(mocked.calls) == 1
