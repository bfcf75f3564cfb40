"""Sync log, job and webhook lists: filters, searches, scoping and re-run by role."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import Job, SyncLog, WebhookEvent
from portal.models import AuditEvent

LOGS = reverse("admin:integrations_synclog_changelist")
JOBS = reverse("admin:integrations_job_changelist")
WEBHOOKS = reverse("admin:integrations_webhookevent_changelist")


def _log(location, **fields):
    defaults = dict(method="GET", path="/contacts/", status=200, operation_id="get-contacts")
    return SyncLog.objects.create(location=location, **{**defaults, **fields})


def _job(location, key, **fields):
    return Job.objects.create(location=location, idempotency_key=key, **{"kind": "poll", **fields})


def _shown(response):
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.fixture
def logs(locations):
    old = _log(locations["A"], status=503, trace_id="trace-old", path="/contacts/abc123def")
    SyncLog.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=10))
    return {
        "old": old,
        "ok": _log(locations["A"], trace_id="trace-ok", job_id=41),
        "limited": _log(
            locations["B"], status=429, operation_id="create-contact", trace_id="trace-429"
        ),
        "other": _log(locations["C"], status=500, trace_id="trace-c"),
    }


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"status": "5xx"}, {"old", "other"}),
        ({"status": "429"}, {"limited"}),
        ({"operation": "create-contact"}, {"limited"}),
        ({"since": "24h"}, {"ok", "limited", "other"}),
        ({"until": "2d"}, {"old"}),
        (
            {"since": (timezone.now() - timedelta(days=11)).date().isoformat(), "status": "5xx"},
            {"old", "other"},
        ),
        ({"job_id": "41"}, {"ok"}),
        ({"problem": "failed"}, {"old", "limited", "other"}),
        ({"q": "trace-429"}, {"limited"}),
        ({"q": "loc-B"}, {"limited"}),
        ({"q": "abc123def"}, {"old"}),
        ({"q": "get-contacts"}, {"old", "ok", "other"}),
    ],
)
def test_the_sync_log_filters_and_searches(client, role_users, logs, params, expected):
    client.force_login(role_users["auditor"])
    response = client.get(LOGS, params)
    assert response.status_code == 200
    assert _shown(response) == {logs[name].pk for name in expected}


def test_the_location_filter_offers_and_applies_only_the_users_locations(
    client, role_users, locations, logs
):
    from django.contrib.auth.models import Permission

    staff = role_users["staff"]
    staff.user_permissions.add(Permission.objects.get(codename="view_synclog"))
    client.force_login(staff)
    page = client.get(LOGS)
    assert _shown(page) == {logs[k].pk for k in ("old", "ok", "limited")}
    body = page.content.decode()
    assert "Location A" in body and "Location C" not in body  # C is not even offered
    assert _shown(client.get(LOGS, {"location": locations["B"].pk})) == {logs["limited"].pk}
    assert _shown(client.get(LOGS, {"location": locations["C"].pk})) == set()
    assert _shown(client.get(LOGS, {"q": "trace-c"})) == set()


def test_a_bad_time_range_is_reported_and_ignored(client, role_users, logs):
    client.force_login(role_users["auditor"])
    response = client.get(LOGS, {"since": "last tuesday"}, follow=True)
    assert response.status_code == 200 and len(_shown(response)) == 4
    assert "is not a date" in response.content.decode()
    response = client.get(LOGS, {"job_id": "forty-one"})
    assert response.status_code == 200 and "not a valid value" in response.content.decode()


def test_job_list_filters_and_searches_by_highlevel_id_and_trace_id(
    client, role_users, locations, logs
):
    failed = _job(
        locations["A"], "k1", status="failed", subject="hl-contact-9", operation="POST /contacts/"
    )
    done = _job(locations["B"], "k2", status="succeeded", kind="webhook", subject="hl-contact-8")
    _log(locations["A"], trace_id="trace-for-job", job_id=failed.pk)
    client.force_login(role_users["support"])
    assert _shown(client.get(JOBS, {"status__exact": "failed"})) == {failed.pk}
    assert _shown(client.get(JOBS, {"kind__exact": "webhook"})) == {done.pk}
    assert _shown(client.get(JOBS, {"operation": "POST /contacts/"})) == {failed.pk}
    assert _shown(client.get(JOBS, {"location": locations["B"].pk})) == {done.pk}
    assert _shown(client.get(JOBS, {"since": "1h"})) == {failed.pk, done.pk}
    assert _shown(client.get(JOBS, {"until": "1h"})) == set()
    assert _shown(client.get(JOBS, {"q": "hl-contact-8"})) == {done.pk}
    assert _shown(client.get(JOBS, {"q": "trace-for-job"})) == {failed.pk}
    assert _shown(client.get(JOBS, {"q": "k1"})) == {failed.pk}


def test_webhook_list_filters_and_searches(client, role_users, locations):
    a = WebhookEvent.objects.create(
        webhook_id="wh-1",
        event_type="ContactCreate",
        location=locations["A"],
        highlevel_location_id="loc-A",
        scheme="ed25519",
    )
    c = WebhookEvent.objects.create(
        webhook_id="wh-2",
        event_type="TaskCreate",
        location=locations["C"],
        highlevel_location_id="loc-C",
        scheme="rsa",
    )
    client.force_login(role_users["auditor"])
    assert _shown(client.get(WEBHOOKS, {"type": "TaskCreate"})) == {c.pk}
    assert _shown(client.get(WEBHOOKS, {"scheme": "ed25519"})) == {a.pk}
    assert _shown(client.get(WEBHOOKS, {"q": "loc-C"})) == {c.pk}
    assert _shown(client.get(WEBHOOKS, {"q": "wh-1"})) == {a.pk}
    assert _shown(client.get(WEBHOOKS, {"location": locations["A"].pk, "since": "1h"})) == {a.pk}


def _rerun(client, job):
    return client.post(JOBS, {"action": "rerun", "_selected_action": [job.pk]}, follow=True)


def test_support_re_runs_a_failed_job_and_it_is_audited(
    client, role_users, locations, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        "integrations.sync.jobs.job_send", lambda job_id: sent.append(job_id) or True
    )
    job = _job(locations["A"], "k-rerun", status="failed", error_message="HTTP 503")
    client.force_login(role_users["support"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _rerun(client, job)
    assert b"Re-queued 1 job" in response.content
    job.refresh_from_db()
    assert (job.status, job.reruns, job.idempotency_key, sent) == ("queued", 1, "k-rerun", [job.pk])
    assert AuditEvent.objects.get(action="job.rerun").actor == role_users["support"]


@pytest.mark.parametrize("role", ["auditor", "staff"])
def test_auditors_and_staff_cannot_re_run(client, role_users, locations, role, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "integrations.sync.jobs.job_send", lambda job_id: sent.append(job_id) or True
    )
    job = _job(locations["A"], "k-norerun", status="failed")
    client.force_login(role_users[role])
    page = client.get(JOBS)
    assert page.status_code == 200 and b'value="rerun"' not in page.content
    _rerun(client, job)
    job.refresh_from_db()
    assert job.status == "failed" and job.reruns == 0 and sent == []
    assert not AuditEvent.objects.filter(action="job.rerun").exists()


@pytest.mark.parametrize("url", [LOGS, JOBS, WEBHOOKS])
def test_lists_make_no_query_per_row(client, role_users, locations, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add(n, start):
        for i in range(start, start + n):
            loc = locations["ABC"[i % 3]]
            _log(loc, trace_id=f"t{i}", job_id=i)
            _job(loc, f"k{i}", status="failed")
            WebhookEvent.objects.create(webhook_id=f"wh{i}", location=loc)

    client.force_login(role_users["staff"] if url != LOGS else role_users["auditor"])
    add(2, 0)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    add(20, 2)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.context["cl"].result_list) > 2
    assert len(many) == len(few)
