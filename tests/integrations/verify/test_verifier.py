"""The verifier, in-process (HighLevel behind ``responses``): sample, compare through the current
mapping, repair, measure; alerts past the thresholds; the daily schedule; the location page."""

import random
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import EntityCoverage, Job, Verification
from integrations.sync.jobs import job_run
from integrations.sync.verify import (
    verification_run,
    verifications_schedule,
    verify_enqueue,
    verify_sample_size,
)
from portal.models import AlertCause, AlertSignal
from rankr.models import Contact
from tests.integrations.conftest import connection_make


def contact(n, **extra):
    return {
        "id": f"c-{n}",
        "email": f"p{n}@x.io",
        "firstName": f"First{n}",
        "lastName": "Doe",
        "dateUpdated": "2026-01-01T00:00:00Z",
        **extra,
    }


@pytest.fixture
def highlevel(mocked, api_base):
    """Five contacts in HighLevel; the search and get-one answer from them."""
    people = {f"c-{n}": contact(n) for n in range(5)}

    def get_one(request):
        ghl_id = request.url.rsplit("/", 1)[-1]
        if ghl_id not in people:
            return (400, {}, '{"statusCode": 400, "message": "Contact not found"}')
        import json

        return (200, {}, json.dumps({"contact": people[ghl_id]}))

    mocked.add_callback("GET", f"{api_base}/contacts/c-0", callback=get_one)
    for n in range(1, 9):
        mocked.add_callback("GET", f"{api_base}/contacts/c-{n}", callback=get_one)
    mocked.post(
        f"{api_base}/contacts/search",
        json={"contacts": list(people.values()), "total": len(people)},
    )
    return people


@pytest.fixture
def synced(location, events_connection, templates, highlevel):
    """Rankr's copy, equal to HighLevel, through the normal path."""
    from mappings.services import mapping_page_apply

    mapping_page_apply(
        mapping_version=templates["ghl_contact_upsert"].versions.order_by("-number").first(),
        location_id=location.pk,
        records=list(highlevel.values()),
    )
    assert Contact.objects.filter(location=location).count() == 5
    return events_connection


@pytest.mark.django_db
def test_an_equal_copy_measures_zero_mismatches_and_raises_no_alert(location, synced):
    measured = verification_run(
        location_id=location.pk, entity="contact", connection_id=synced.pk, sample_size=10
    )
    assert (measured.sample_size, measured.mismatched, measured.repaired) == (5, 0, 0)
    assert measured.requests == 6  # five reads by id, one page of HighLevel's list
    assert not AlertSignal.objects.exists()


@pytest.mark.django_db
def test_changed_deleted_and_ghost_rows_are_measured_repaired_and_alerted(location, synced):
    Contact.objects.filter(ghl_id="c-1").update(first_name="Wrong")
    Contact.objects.filter(ghl_id="c-2").delete()
    Contact.objects.create(location=location, ghl_id="c-8", email="ghost@x.io")  # not in HighLevel
    measured = verification_run(
        location_id=location.pk,
        entity="contact",
        connection_id=synced.pk,
        sample_size=10,
        rng=random.Random(1),
    )
    assert (measured.sample_size, measured.mismatched) == (6, 3)
    assert (measured.missing, measured.gone, measured.repaired) == (1, 1, 3)
    assert measured.mismatch_rate == pytest.approx(0.5)
    assert {"ghl_id": "c-1", "fields": ["first_name"]} in measured.details
    assert Contact.objects.get(ghl_id="c-1").first_name == "First1"
    assert Contact.objects.get(ghl_id="c-2").email == "p2@x.io"
    assert Contact.objects.get(ghl_id="c-8").deleted_at is not None
    signal = AlertSignal.objects.get(cause=AlertCause.MISMATCH)
    assert (
        signal.location_id == location.pk and "3 of 6 sampled differed" in signal.detail["message"]
    )


@pytest.mark.django_db
def test_a_stale_coverage_raises_the_coverage_alert(location, synced, settings):
    settings.VERIFY_ALERT_COVERAGE_HOURS = 24
    EntityCoverage.objects.create(
        location=location, entity="contact", last_full_pass_at=timezone.now() - timedelta(hours=30)
    )
    measured = verification_run(
        location_id=location.pk, entity="contact", connection_id=synced.pk, sample_size=10
    )
    assert 30 * 3600 - 60 < measured.coverage_age_s < 30 * 3600 + 60
    assert AlertSignal.objects.get().cause == AlertCause.COVERAGE


@pytest.mark.django_db
def test_the_sample_is_cut_to_the_budget_share(settings):
    settings.VERIFY_SAMPLE_SIZE = 500
    settings.VERIFY_BUDGET_SHARE = 0.001  # 200 requests a day
    assert verify_sample_size(entities=4) == 25  # each record read about twice


@pytest.mark.django_db
def test_the_daily_schedule_queues_one_verification_per_connected_location_once(
    ghl_app, location, other_location, q_sync, monkeypatch
):
    connection_make(app=ghl_app, location=location)
    monkeypatch.setattr("integrations.sync.jobs.job_send", lambda **kw: True)
    assert verifications_schedule() == 1
    assert verifications_schedule() == 1  # the same day: the same job
    job = Job.objects.get(kind=Job.Kind.VERIFY)
    assert job.location == location and job.idempotency_key.endswith(
        timezone.now().date().isoformat()
    )


@pytest.mark.django_db
def test_a_verify_job_measures_each_mapped_entity(location, synced, templates, settings):
    settings.GHL_MAX_ATTEMPTS = 1  # entities the fake HighLevel does not serve fail at once
    job = verify_enqueue(location_id=location.pk, label="t")
    assert job_run(job_id=job.pk) == Job.Status.SUCCEEDED
    job.refresh_from_db()
    assert job.result["entities"]["contact"]["mismatched"] == 0
    assert Verification.objects.filter(job=job, entity="contact").exists()


@pytest.mark.django_db
def test_the_location_page_shows_coverage_mismatch_and_budget_per_entity(
    client, role_users, locations, ghl_app
):
    place = locations["A"]
    Verification.objects.create(
        location=place, entity="contact", sample_size=40, mismatched=2, mismatch_rate=0.05
    )
    EntityCoverage.objects.create(
        location=place, entity="contact", last_full_pass_at=timezone.now() - timedelta(hours=3)
    )
    for role in ("staff", "auditor"):
        client.force_login(role_users[role])
        page = client.get(reverse("admin:location_overview", args=[place.pk]))
        text = page.content.decode()
        assert page.status_code == 200
        assert "Coverage and verified equality" in text
        assert "5.0%" in text and "2 of 40" in text
        assert "3 h 00 min" in text
        assert "HighLevel budget plan" in text and "of 200,000" in text
        exported = reverse("admin:integrations_verification_export")
        assert (exported in text) == (role == "auditor")


@pytest.mark.django_db
def test_the_dashboard_shows_and_flags_a_verified_mismatch_and_an_old_coverage(
    client, role_users, locations, settings
):
    settings.VERIFY_ALERT_COVERAGE_HOURS = 24
    place = locations["A"]
    Verification.objects.create(
        location=place, entity="contact", sample_size=40, mismatched=4, mismatch_rate=0.1
    )
    Verification.objects.create(location=place, entity="task", sample_size=40, mismatch_rate=0.0)
    EntityCoverage.objects.create(
        location=place, entity="note", last_full_pass_at=timezone.now() - timedelta(hours=30)
    )
    client.force_login(role_users["staff"])
    text = client.get(reverse("admin:index")).content.decode()
    assert "10.0% mismatched (verified)" in text
    assert "coverage 30 h old" in text
    assert "Verified mismatch" in text


@pytest.mark.django_db
def test_the_daily_verifications_are_spread_over_the_spread_not_queued_at_once(
    ghl_app, location, other_location, settings, monkeypatch
):
    """The daily schedule queued every location's verification at once: at 5,000 locations
    (about 75 ms of worker CPU each) the burst delayed the scheduled polls by minutes
    (bench/dispatcher_lag.py). The first starts now; the rest start evenly over VERIFY_SPREAD_S,
    each sent by the tick when it is due."""
    from integrations.sync.jobs import jobs_dispatch_due
    from integrations.sync.leases import db_now

    settings.VERIFY_SPREAD_S = 3600
    connection_make(app=ghl_app, location=location)
    connection_make(app=ghl_app, location=other_location)
    sent = []
    monkeypatch.setattr("integrations.sync.jobs.job_send", lambda **kw: sent.append(kw) or True)
    now = db_now()
    with django_capture_on_commit():
        assert verifications_schedule() == 2
    first, second = Job.objects.filter(kind=Job.Kind.VERIFY).order_by("location_id")
    assert first.next_attempt_at is None and [s["job_id"] for s in sent] == [first.pk]
    assert 1790 <= (second.next_attempt_at - now).total_seconds() <= 1810
    assert second.sent_at is None and second.status == Job.Status.QUEUED
    jobs_dispatch_due()
    assert [s["job_id"] for s in sent] == [first.pk]  # not due yet
    Job.objects.filter(pk=second.pk).update(next_attempt_at=now - timedelta(seconds=1))
    jobs_dispatch_due()
    assert second.pk in [s["job_id"] for s in sent]


def django_capture_on_commit():
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)
