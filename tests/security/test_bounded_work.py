"""Bounded work per request: bad time filters and deep pages are 400s, exports and HighLevel calls
from web requests have limits."""

import csv
import io

import pytest
from django.test import RequestFactory
from django.urls import reverse

from integrations.ghl import client as door
from integrations.ghl.deadline import deadline_remaining, ghl_deadline
from integrations.ghl.errors import GhlError
from integrations.interfaces.middleware import HighLevelDeadlineMiddleware
from integrations.models import Job

pytestmark = pytest.mark.django_db
JOBS = reverse("admin:integrations_job_changelist")


@pytest.mark.parametrize(
    "query",
    [
        {"since": "9999999d"},  # before the year 1
        {"until": "9999-12-31"},  # the next midnight is past the year 9999
        {"since": "2026-02-31T08:00"},  # well-formed, no such day
    ],
)
def test_a_time_filter_that_overflows_is_a_400(client, role_users, query):
    client.force_login(role_users["superuser"])
    assert client.get(JOBS, query).status_code == 400
    assert client.get(reverse("admin:integrations_job_export"), query).status_code == 400


def test_a_page_number_past_the_limit_is_a_400_not_a_scan(client, role_users, settings):
    client.force_login(role_users["superuser"])
    assert client.get(JOBS, {"p": str(10**30)}).status_code == 400
    assert client.get(JOBS, {"p": str(settings.ADMIN_MAX_PAGE + 1)}).status_code == 400
    assert client.get(JOBS, {"p": "2"}).status_code in (200, 302)


def test_a_csv_export_stops_at_its_row_limit_and_says_so(client, role_users, locations, settings):
    settings.EXPORT_MAX_ROWS = 3
    for n in range(5):
        Job.objects.create(kind="poll", location=locations["A"], idempotency_key=f"k{n}")
    client.force_login(role_users["superuser"])
    response = client.get(reverse("admin:integrations_job_export"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1 + 3 + 1  # header, three rows, the note
    assert rows[-1][0].startswith("# Export stopped after 3 rows")


def test_web_requests_call_highlevel_under_a_short_deadline(settings):
    settings.GHL_WEB_DEADLINE_S = 7
    seen = []
    middleware = HighLevelDeadlineMiddleware(lambda request: seen.append(deadline_remaining()))
    middleware(RequestFactory().get("/admin/"))
    assert 0 < seen[0] <= 7
    assert deadline_remaining() is None  # workers: no deadline


def test_the_door_sends_nothing_once_the_deadline_has_passed(connection, mocked, api_base):
    with ghl_deadline(0), pytest.raises(GhlError) as raised:
        door.ghl_request(connection_id=connection.pk, method="GET", path="/contacts/c-1")
    assert not raised.value.permanent and "did not answer within" in raised.value.message
    assert len(mocked.calls) == 0


def test_the_door_does_not_back_off_past_the_deadline(
    connection, mocked, api_base, sleeps, settings, monkeypatch
):
    settings.GHL_BACKOFF_BASE = settings.GHL_BACKOFF_CAP = 60
    monkeypatch.setattr(door.random, "uniform", lambda low, high: high)
    mocked.get(f"{api_base}/contacts/c-1", status=503, json={"message": "busy"})
    with ghl_deadline(5), pytest.raises(GhlError) as raised:
        door.ghl_request(connection_id=connection.pk, method="GET", path="/contacts/c-1")
    assert len(mocked.calls) == 1 and sleeps == []
    assert "did not answer within" in raised.value.message and "busy" in raised.value.message
