"""The location page shows coverage age and verified mismatch rate per entity, and the budget
plan, to staff and auditors alike (Chromium, 1366 px); only the auditor exports the history.

Screenshots land in test-artifacts/browser/<test name>/.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import EntityCoverage, Subscription, Verification
from tests.admin_samples import _subscription

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_staff_and_auditor_see_coverage_mismatch_and_budget_on_the_location_page(
    wide, steps, role_users, locations
):
    location = locations["A"]
    subscription = _subscription(location, role_users)
    Subscription.objects.filter(pk=subscription.pk).update(interval_minutes=5)
    EntityCoverage.objects.create(
        location=location, entity="contact", last_full_pass_at=timezone.now() - timedelta(hours=5)
    )
    Verification.objects.create(
        location=location,
        entity="contact",
        sample_size=50,
        mismatched=3,
        missing=1,
        gone=1,
        repaired=3,
        mismatch_rate=0.06,
        coverage_age_s=5 * 3600,
    )
    for username, role in (("staffer", "staff"), ("auditor", "auditor")):
        page = wide(username)
        page.goto(f"/admin/locations/{location.pk}/")
        table = page.locator("#coverage")
        text = table.inner_text()
        assert "Contact" in text and "6.0%" in text and "3 of 50" in text
        assert "5 h 00 min" in text
        budget = page.locator("#budget").inner_text()
        assert "Location: Location A" in budget and "Search Contacts" in budget
        assert "of 200000" in budget.replace(",", "")
        export = page.locator("a", has_text="Export CSV")
        assert export.count() == (1 if role == "auditor" else 0)
        assert page.locator("a", has_text="Verification history").count() == 1
        page.locator("#coverage").scroll_into_view_if_needed()
        steps.shot(page, f"location page coverage as {role}")
        if role == "auditor":
            with page.expect_download() as download:
                export.click()
            body = open(download.value.path(), encoding="utf-8").read()
            assert "mismatch rate" in body and "Location A" in body and "0.06" in body
