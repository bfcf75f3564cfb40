"""Small things the browser run found: one-line 403 logs, the user's time zone, a favicon, the
operations link, search by words in any order, confirming destructive sends."""

import logging

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.catalog.browse import rows_filter
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_a_refused_request_is_logged_as_one_line_with_its_reason(client, role_users, caplog):
    client.force_login(role_users["auditor"])
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/integrations/connect/?kind=location")
    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None and record.exc_text is None
    line = record.getMessage()
    assert "\n" not in line
    assert line == (
        "Forbidden GET /integrations/connect/ (user auditor): Connecting needs permission "
        "to add connections; your role may only look."
    )


def test_the_refusal_page_is_styled_and_names_the_reason(client, role_users):
    client.force_login(role_users["staff"])
    response = client.get("/admin/integrations/synclog/")
    html = response.content.decode()
    assert response.status_code == 403 and 'id="refusal-reason"' in html
    assert "your role: Agency staff" in html and "Rankr ⇄ HighLevel portal" in html


def test_times_show_in_the_browsers_time_zone_to_the_second(client, role_users):
    AuditEvent.objects.create(action="x.test", target="t")
    client.force_login(role_users["superuser"])
    client.cookies["portal_tz"] = "America/New_York"
    html = client.get(reverse("admin:portal_auditevent_changelist")).content.decode()
    local = timezone.localtime(
        AuditEvent.objects.get().at, timezone=__import__("zoneinfo").ZoneInfo("America/New_York")
    )
    assert local.strftime("%Y-%m-%d %H:%M:%S") in html and ("EST" in html or "EDT" in html)
    client.cookies["portal_tz"] = "Not/AZone"  # an unknown zone falls back to TIME_ZONE
    assert client.get(reverse("admin:portal_auditevent_changelist")).status_code == 200


def test_a_favicon_and_the_operations_link_are_on_every_admin_page(client, role_users):
    client.force_login(role_users["staff"])
    html = client.get("/admin/").content.decode()
    assert 'rel="icon"' in html and 'id="nav-operations" href="/admin/catalog/operations/"' in html
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 301 and favicon["Location"].endswith("portal/favicon.svg")


def test_search_finds_words_in_any_order():
    found = {row.operation.key for row in rows_filter(q="courses import")}
    assert found and found == {row.operation.key for row in rows_filter(q="Import Courses")}
    assert rows_filter(q="courses zebra") == []


def test_sending_a_delete_for_real_needs_the_confirmation_box(client, role_users):
    client.force_login(role_users["superuser"])
    url = reverse("catalog:run") + "?op=DELETE+/contacts/{contactId}"
    form = client.get(url).content.decode()
    assert 'name="confirm"' in form
    html = client.post(url, {"p_contactId": "c1"}).content.decode()  # dry run box unticked
    assert "tick the box to send it" in html
    assert not AuditEvent.objects.filter(action="catalog.run").exists()


def test_read_only_links_lead_only_to_pages_the_viewer_may_open(client, role_users, locations):
    from integrations.models import Connection, HighLevelApp, Job

    app = HighLevelApp(name="Rankr", client_id="cid-links", redirect_url="http://testserver/cb/")
    app.client_secret = "secret-value"
    app.save()
    connection = Connection(
        app=app,
        agency=locations["A"].agency,
        location=locations["A"],
        connected_by=role_users["superuser"],
    )
    connection.access_token = "token-value"
    connection.save()
    job = Job.objects.create(
        kind="action",
        location=locations["A"],
        connection=connection,
        idempotency_key="links",
        created_by=role_users["superuser"],
    )
    client.force_login(role_users["staff"])
    page = client.get(f"/admin/integrations/connection/{connection.pk}/change/").content.decode()
    assert (
        f"/admin/integrations/highlevelapp/{app.pk}/change/" not in page
    )  # staff may not see apps
    assert f"/admin/auth/user/{role_users['superuser'].pk}/change/" not in page
    job_page = client.get(f"/admin/integrations/job/{job.pk}/change/").content.decode()
    assert (
        f"/admin/integrations/connection/{connection.pk}/change/" in job_page
    )  # they may see that
    assert "/admin/auth/user/" not in job_page and "/admin/integrations/synclog/" not in job_page
    client.force_login(role_users["superuser"])
    page = client.get(f"/admin/integrations/connection/{connection.pk}/change/").content.decode()
    assert f"/admin/integrations/highlevelapp/{app.pk}/change/" in page


def test_staff_are_offered_connect_location_but_not_connect_agency(client, role_users):
    client.force_login(role_users["staff"])
    page = client.get("/admin/integrations/connection/").content.decode()
    assert "?kind=location" in page and "?kind=agency" not in page
    refused = client.get("/integrations/connect/?kind=agency")
    assert (
        refused.status_code == 403
        and "only users who see every location" in refused.content.decode()
    )
    client.force_login(role_users["superuser"])
    assert "?kind=agency" in client.get("/admin/integrations/connection/").content.decode()
