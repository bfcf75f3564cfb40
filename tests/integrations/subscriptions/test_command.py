from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from rankr.models import Contact


@pytest.fixture
def no_worker():
    with mock.patch("integrations.sync.jobs.job_send"):
        yield


@pytest.mark.django_db(transaction=True)
def test_backfill_command_shows_progress_and_fills_rankr(
    fake, make_subscription, location, no_worker
):
    fake.add(230)
    subscription = make_subscription()
    out = StringIO()
    call_command("backfill", str(subscription.pk), stdout=out)
    text = out.getvalue()
    assert "[##############################] 100% 230 / 230 records · 3 pages" in text
    assert "230 records, 230 written, 3 requests" in text
    assert Contact.objects.filter(location=location).count() == 230


@pytest.mark.django_db(transaction=True)
def test_backfill_by_location_runs_each_enabled_subscription(
    fake, make_subscription, location, no_worker
):
    fake.add(20)
    make_subscription()
    make_subscription(trigger="List Contacts (Deprecated)")
    out = StringIO()
    call_command("backfill", "--location", location.location_id, stdout=out)
    assert out.getvalue().count("20 records,") == 2
    assert len(fake.requests) == 2


@pytest.mark.django_db
def test_backfill_command_names_what_is_missing(location):
    with pytest.raises(CommandError, match="subscription id or --location"):
        call_command("backfill")
    with pytest.raises(CommandError, match="No subscription 999"):
        call_command("backfill", "999")
    with pytest.raises(CommandError, match="has no enabled subscriptions"):
        call_command("backfill", "--location", location.location_id)


@pytest.mark.django_db
def test_dispatch_command_dispatches_due_subscriptions_once(make_subscription):
    make_subscription()
    make_subscription(trigger="List Contacts (Deprecated)")
    out = StringIO()
    call_command("dispatch", stdout=out)
    call_command("dispatch", stdout=out)
    assert out.getvalue().splitlines() == [
        "Dispatched 2 subscription run(s).",
        "Dispatched 0 subscription run(s).",
    ]
