import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import SyncLog
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_auditor_filters_the_sync_log_exports_it_and_cannot_change_it(
    page, steps, role_users, locations
):
    SyncLog.objects.create(
        location=locations["A"],
        method="GET",
        path="/contacts/?access_token=tok-leak-123",
        status=503,
        trace_id="trace-recent-503",
        operation_id="get-contacts",
    )
    SyncLog.objects.create(
        location=locations["B"],
        method="GET",
        path="/contacts/",
        status=200,
        trace_id="trace-recent-200",
        operation_id="get-contacts",
    )
    old = SyncLog.objects.create(
        location=locations["C"],
        method="POST",
        path="/contacts/",
        status=500,
        trace_id="trace-old-500",
        operation_id="create-contact",
    )
    SyncLog.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=3))

    page.goto("/admin/")
    page.fill("input[name=login]", "auditor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")
    page.goto("/admin/integrations/synclog/")
    steps.shot(page, "sync log")
    assert page.locator("#result_list tbody tr").count() == 3

    page.click("#changelist-filter >> text=5xx server error")
    page.fill("#changelist-filter input[name=since]", "24h")
    page.click("#changelist-filter form:has(input[name=since]) input[type=submit]")
    page.wait_for_url("**since=24h**")
    steps.shot(page, "filtered: 5xx in the last 24 hours")
    text = page.inner_text("#result_list")
    assert (
        "trace-recent-503" in text
        and "trace-old-500" not in text
        and "trace-recent-200" not in text
    )
    assert "tok-leak-123" not in text  # masked on screen too

    # The button's link, fetched with the browser's session cookies.
    export = page.request.get(page.get_attribute("a.export-csv", "href"))
    assert export.ok and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text())))
    assert [row["trace id"] for row in rows] == ["trace-recent-503"]
    assert "tok-leak-123" not in rows[0]["path"]

    page.click("#result_list tbody tr a")
    steps.shot(page, "an entry, read-only")
    assert "tok-leak-123" not in page.content()
    assert page.locator("input[name=_save]").count() == 0
    assert page.locator("a.deletelink").count() == 0
    refused = page.goto("/admin/integrations/synclog/add/")
    assert refused.status == 403 and "Not allowed" in page.title()  # the styled refusal page
