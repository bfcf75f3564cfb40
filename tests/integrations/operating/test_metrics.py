"""/metrics: the per-location series after a real sync, and who may read them."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from integrations.models import JobAttempt, RateBucket, Verification
from tests.conftest import _make_user
from tests.integrations.subscriptions.conftest import run_once

TOKEN = "metrics-token-0123456789abcdefghijklmnop"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = TOKEN


def scrape(client, **headers):
    return client.get(reverse("metrics"), **headers)


def at(found, name, **labels):
    return found[(name, frozenset(labels.items()))]


def samples(body):
    """{(name, frozenset(labels)): value} of every sample in a Prometheus text answer."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


@pytest.mark.django_db
def test_a_scrape_after_a_sync_shows_the_locations_series(
    client, metrics_on, fake, make_subscription, location, other_location
):
    fake.add(150)
    subscription = make_subscription()
    job = run_once(subscription)
    assert job.status == "succeeded"
    # The verifier's latest measurement per entity is what counts (an older one is not).
    Verification.objects.create(location=location, entity="contact", mismatch_rate=0.5)
    Verification.objects.create(location=location, entity="contact", mismatch_rate=0.02)

    response = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(response.content.decode())
    loc = location.location_id
    fresh = at(
        found,
        "portal_subscription_freshness_seconds",
        location=loc,
        subscription=str(subscription.pk),
        trigger="Search Contacts",
    )
    assert 0 <= fresh < 60  # it just succeeded
    assert at(found, "portal_location_freshness_seconds", location=loc) == fresh
    # Budget: exactly the requests the sync sent (two pages), counted by the rate limiter.
    used = at(found, "portal_budget_used_requests", location=loc)
    assert used == len(fake.requests) == 2
    assert RateBucket.objects.get().day_count == used
    assert at(found, "portal_verified_mismatch_ratio", location=loc, entity="contact") == 0.02
    assert (
        at(found, "portal_job_attempts", kind="backfill", outcome="succeeded")
        == JobAttempt.objects.filter(outcome="succeeded").count()
        == 1
    )
    assert at(found, "portal_jobs_queued", kind="poll") == 0
    # A location with nothing to report has no series of its own (no empty labels).
    assert not any(("location", other_location.location_id) in labels for _, labels in found)


@pytest.mark.django_db
def test_queue_depth_and_age_count_due_jobs(client, metrics_on, location):
    from datetime import timedelta

    from django.utils import timezone

    from integrations.models import Job

    old = Job.objects.create(kind="poll", location=location, idempotency_key="a")
    Job.objects.filter(pk=old.pk).update(queued_at=timezone.now() - timedelta(minutes=10))
    Job.objects.create(
        kind="poll",
        location=location,
        idempotency_key="b",
        next_attempt_at=timezone.now() + timedelta(hours=1),  # waiting to retry: not due
    )
    found = samples(scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode())
    assert at(found, "portal_jobs_queued", kind="poll") == 2
    assert at(found, "portal_jobs_due", kind="poll") == 1
    age = at(found, "portal_jobs_oldest_due_age_seconds", kind="poll")
    assert 590 < age < 700
    loc = location.location_id
    assert at(found, "portal_location_jobs_queued", location=loc) == 2


@pytest.mark.django_db
def test_anonymous_and_wrong_tokens_are_refused(client, metrics_on, location):
    anonymous = scrape(client)
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert b"portal_" not in anonymous.content
    wrong = scrape(client, HTTP_AUTHORIZATION="Bearer " + TOKEN[:-1] + "X")
    assert wrong.status_code == 403 and b"portal_" not in wrong.content
    assert scrape(client, HTTP_AUTHORIZATION="Basic " + TOKEN).status_code == 401


@pytest.mark.django_db
def test_no_token_configured_means_no_token_matches(client, settings):
    settings.METRICS_ENABLED, settings.METRICS_TOKEN = True, ""
    assert scrape(client, HTTP_AUTHORIZATION="Bearer ").status_code == 401
    assert scrape(client, HTTP_AUTHORIZATION="Bearer anything").status_code == 403


@pytest.mark.django_db
def test_signed_in_users_need_the_metrics_permission(client, metrics_on, role_users):
    for role in ("staff", "auditor", "support"):
        client.force_login(role_users[role])
        assert scrape(client).status_code == 403, role
    client.force_login(role_users["superuser"])
    assert scrape(client).status_code == 200
    granted = _make_user("operator")
    granted.user_permissions.add(Permission.objects.get(codename="view_metrics"))
    client.force_login(granted)
    assert scrape(client).status_code == 200


@pytest.mark.django_db
def test_disabled_metrics_answer_404(client, settings):
    settings.METRICS_ENABLED, settings.METRICS_TOKEN = False, TOKEN
    assert scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


@pytest.mark.django_db
def test_webhook_lag_and_backlog(client, metrics_on, location):
    from datetime import timedelta

    from django.utils import timezone

    from integrations.models import WebhookEvent

    now = timezone.now()
    for n, (received_ago, lag) in enumerate([(60, 2), (30, 10), (7200, 500)]):
        event = WebhookEvent.objects.create(webhook_id=f"w{n}", status="processed")
        WebhookEvent.objects.filter(pk=event.pk).update(
            received_at=now - timedelta(seconds=received_ago),
            processed_at=now - timedelta(seconds=received_ago - lag),
        )
    waiting = WebhookEvent.objects.create(webhook_id="w9")
    WebhookEvent.objects.filter(pk=waiting.pk).update(received_at=now - timedelta(seconds=45))
    found = samples(scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode())
    # The window (an hour) holds the first two; the one received two hours ago is outside it.
    assert at(found, "portal_webhook_lag_seconds", stat="avg") == pytest.approx(6, abs=0.01)
    assert at(found, "portal_webhook_lag_seconds", stat="max") == pytest.approx(10, abs=0.01)
    assert at(found, "portal_webhook_events_processed") == 2
    assert at(found, "portal_webhook_events_unprocessed") == 1
    assert 44 < at(found, "portal_webhook_oldest_unprocessed_age_seconds") < 120
