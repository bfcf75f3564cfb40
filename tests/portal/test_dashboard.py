from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.interfaces.dashboard import chart_svg, dashboard_hourly, dashboard_locations
from integrations.models import Connection, HighLevelApp, Job, SyncLog


@pytest.fixture
def app(db):
    app = HighLevelApp(name="Rankr", client_id="cid", redirect_url="http://testserver/cb/")
    app.client_secret = "secret-value"
    app.save()
    return app


def connect(app, location, status=Connection.Status.ACTIVE):
    conn = Connection(app=app, agency=location.agency, location=location, status=status)
    conn.access_token = "token-value"
    conn.save()
    return conn


def synced(location, users):
    """Give ``location`` a polling subscription that has succeeded."""
    from tests.admin_samples import _subscription

    subscription = _subscription(location, users)
    subscription.last_success_at = timezone.now()
    subscription.save()
    return subscription


@pytest.fixture
def activity(app, locations, role_users):
    now = timezone.now()
    connect(app, locations["A"])
    synced(locations["A"], role_users)
    connect(app, locations["B"], status=Connection.Status.NEEDS_REAUTH)
    connect(app, locations["C"])
    logs = []
    for i in range(20):
        logs.append(SyncLog(location=locations["A"], method="GET", path="/contacts/", status=200))
        logs.append(
            SyncLog(
                location=locations["C"],
                method="GET",
                path="/contacts/",
                status=500 if i % 2 else 200,
            )
        )
    SyncLog.objects.bulk_create(logs)
    Job.objects.create(kind="poll", status="failed", location=locations["C"], idempotency_key="f1")
    Job.objects.create(kind="poll", status="queued", location=locations["A"], idempotency_key="q1")
    old = Job.objects.create(
        kind="poll", status="failed", location=locations["A"], idempotency_key="old"
    )
    Job.objects.filter(pk=old.pk).update(queued_at=now - timedelta(days=3))
    return now


def test_failing_locations_come_first_with_their_problems(role_users, activity, locations):
    rows = dashboard_locations(user=role_users["auditor"])
    by_name = {row.location.name: row for row in rows}
    assert [row.location.name for row in rows][-1] == "Location A"  # the only healthy one, last
    c = by_name["Location C"]
    assert c.failures_24h == 1 and c.calls_24h == 20 and c.errors_24h == 10
    assert "1 failed job(s)" in c.problems and "50% errors" in c.problems
    b = by_name["Location B"]
    assert b.needs_reauth and b.problems == ["needs re-auth"]
    a = by_name["Location A"]
    assert a.queued_jobs == 1 and a.failures_24h == 0 and not a.failing  # 3-day-old failure ignored
    assert a.last_success_at is not None


def test_not_connected_and_never_synced_locations_need_attention(app, role_users, locations):
    connect(app, locations["B"])  # connected, no subscription has ever succeeded
    connect(app, locations["C"])
    synced(locations["C"], role_users)
    rows = dashboard_locations(user=role_users["auditor"])
    by_name = {row.location.name: row for row in rows}
    assert by_name["Location A"].problems == ["not connected"]
    assert by_name["Location B"].problems == ["never synced"]
    assert not by_name["Location C"].failing
    assert [row.location.name for row in rows] == ["Location A", "Location B", "Location C"]


def test_staff_dashboard_shows_only_assigned_locations(role_users, activity):
    names = {row.location.name for row in dashboard_locations(user=role_users["staff"])}
    assert names == {"Location A", "Location B"}


def test_hourly_series_counts_calls_and_errors(role_users, activity):
    series = dashboard_hourly(user=role_users["auditor"], now=activity)
    assert len(series) == 24
    assert sum(calls for _, calls, _ in series) == 40
    assert sum(errors for _, _, errors in series) == 10
    staff_series = dashboard_hourly(user=role_users["staff"], now=activity)
    assert sum(errors for _, _, errors in staff_series) == 0


def test_chart_is_inline_svg_with_a_title_per_hour(role_users, activity):
    svg = str(chart_svg(series=dashboard_hourly(user=role_users["auditor"], now=activity)))
    assert svg.startswith("<svg") and svg.count("<title>") == 24
    assert "40 calls, 10 errors" in svg  # every row was written this hour
    assert "peak 40 calls/h" in svg


def test_the_admin_home_shows_the_failing_location_first(client, role_users, activity):
    client.force_login(role_users["support"])
    page = client.get("/admin/").content.decode()
    table = page[page.index('id="location-health"') :]
    assert table.index("Location C") < table.index("Location A")
    assert table.index("Location B") < table.index("Location A")
    assert "need" in page and "attention" in page and "<svg" in page
