"""The webhook endpoint cannot be used to fill the database."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from integrations.models import WebhookEvent

URL = reverse("integrations:highlevel_webhook")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counts():
    cache.clear()
    yield
    cache.clear()


def forged(client, n=1):
    return [
        client.post(
            URL,
            b'{"type": "ContactCreate", "webhookId": "x"}',
            content_type="application/json",
            HTTP_X_GHL_SIGNATURE="Zm9yZ2Vk",
        ).status_code
        for _ in range(n)
    ]


@override_settings(WEBHOOK_REJECTED_SAMPLES=5)
def test_a_flood_of_unsigned_deliveries_is_counted_and_sampled_not_stored_row_by_row(client):
    # The flood in the middle of one minute, on a clock that stands still: on the real clock a
    # flood ending near a minute's end put "the next minute" 61 s later two minutes on (a flake).
    minute = timezone.now().replace(second=20, microsecond=0)
    with mock.patch("integrations.sync.webhooks_in.timezone.now", return_value=minute):
        assert set(forged(client, 60)) == {401}
    assert WebhookEvent.objects.filter(status="rejected").count() == 5
    # The first rejection of the next minute records how big the flood was, in one row.
    from integrations.sync.webhooks_in import webhook_rejection_count

    webhook_rejection_count(reason="no signature", now=minute + timedelta(seconds=60))
    summary = WebhookEvent.objects.filter(payload__rejected_count__isnull=False).get()
    assert (
        summary.payload["rejected_count"] >= 60
        and "rejected in the minute before" in summary.reason
    )


@override_settings(WEBHOOK_MAX_BODY_BYTES=2048)
def test_a_body_over_the_configured_limit_is_refused_unread_and_not_stored(client):
    response = client.post(URL, b"{" + b" " * 4096 + b"}", content_type="application/json")
    assert response.status_code == 413 and not WebhookEvent.objects.exists()


def test_old_webhook_events_are_pruned_by_command_and_by_the_tick(settings):
    old = timezone.now() - timedelta(days=40)
    for status in ("processed", "rejected", "ignored", "received"):
        event = WebhookEvent.objects.create(
            status=status, event_type="ContactCreate", webhook_id=f"wh-{status}"
        )
        WebhookEvent.objects.filter(pk=event.pk).update(received_at=old)
    fresh = WebhookEvent.objects.create(status="processed", webhook_id="wh-new")
    call_command("prune_webhook_events", "--older-than", "30d")
    # Waiting to be processed is kept whatever its age; the fresh one too.
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"received", "processed"}
    assert WebhookEvent.objects.filter(pk=fresh.pk).exists()

    from integrations.interfaces.tasks import tick_task

    stale = WebhookEvent.objects.create(status="ignored", webhook_id="wh-stale")
    WebhookEvent.objects.filter(pk=stale.pk).update(received_at=old)
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 30
    tick_task()
    assert not WebhookEvent.objects.filter(pk=stale.pk).exists()
