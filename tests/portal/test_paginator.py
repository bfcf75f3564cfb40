"""Big lists read one page plus one row and never count."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.admin.synclog import SyncLogAdmin
from integrations.models import SyncLog

URL = reverse("admin:integrations_synclog_changelist")


def _logs(location, n):
    SyncLog.objects.bulk_create(
        SyncLog(location=location, method="GET", path=f"/contacts/c{i}", status=200)
        for i in range(n)
    )


def test_it_lists_a_page_without_any_count_query(client, role_users, locations, monkeypatch):
    monkeypatch.setattr(SyncLogAdmin, "list_per_page", 2)
    _logs(locations["A"], 5)
    client.force_login(role_users["auditor"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    cl = response.context["cl"]
    assert [q for q in queries if "COUNT(" in q["sql"].upper()] == []
    assert len(cl.result_list) == 2 and cl.paginator.has_more and cl.multi_page
    assert b"2+ sync log" in response.content  # says more follow instead of a total
    assert not cl.can_show_all and b'class="showall"' not in response.content  # no "read them all"


def test_the_last_page_knows_its_exact_total(client, role_users, locations, monkeypatch):
    monkeypatch.setattr(SyncLogAdmin, "list_per_page", 2)
    _logs(locations["A"], 5)
    client.force_login(role_users["auditor"])
    response = client.get(URL, {"p": 3})
    cl = response.context["cl"]
    assert len(cl.result_list) == 1 and not cl.paginator.has_more and cl.result_count == 5
    assert b"5 sync log" in response.content


def test_a_page_past_the_end_is_refused_like_any_bad_page(
    client, role_users, locations, monkeypatch
):
    monkeypatch.setattr(SyncLogAdmin, "list_per_page", 2)
    _logs(locations["A"], 5)
    client.force_login(role_users["auditor"])
    response = client.get(URL, {"p": 9})
    assert response.status_code == 302 and "e=1" in response.url
    assert client.get(URL, {"p": "x"}).status_code == 200  # not a number: first page
