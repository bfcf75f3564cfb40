from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Job, Subscription
from integrations.sync.jobs import job_run, jobs_dispatch_due
from integrations.sync.subscriptions import subscription_run_now
from rankr.models import Contact
from tests.fakeghl import Killed
from tests.integrations.subscriptions.conftest import run_once


def rankr_contacts(location):
    return {
        c.ghl_id: (c.email, c.first_name)
        for c in Contact.objects.filter(location=location, deleted_at__isnull=True)
    }


def fake_contacts(fake):
    return {r["id"]: (r["email"], r["firstName"]) for r in fake.rows}


@pytest.mark.django_db
def test_the_first_run_backfills_every_page_with_progress(fake, make_subscription, location):
    fake.add(250)
    subscription = make_subscription()
    job = run_once(subscription)
    assert job.kind == Job.Kind.BACKFILL and job.status == Job.Status.SUCCEEDED
    assert rankr_contacts(location) == fake_contacts(fake)
    assert len(fake.requests) == 3  # 100 + 100 + 50
    assert subscription.backfill_pages == 3
    assert subscription.backfill_records == 250
    assert subscription.backfill_total == 250
    assert subscription.backfill_finished_at is not None
    assert subscription.cursor == {}
    assert subscription.watermark == max(r["dateUpdated"] for r in fake.rows)
    assert subscription.last_run_outcome == Subscription.Outcome.SUCCEEDED
    assert (subscription.last_run_requests, subscription.last_run_changed) == (3, 250)
    assert subscription.claimed_until is None and subscription.claimed_job is None


@pytest.mark.django_db
def test_an_incremental_run_over_an_unchanged_location_costs_one_request(fake, make_subscription):
    fake.add(250)
    subscription = make_subscription()
    run_once(subscription)
    fake.requests.clear()
    job = run_once(subscription)
    assert job.kind == Job.Kind.POLL
    assert len(fake.requests) == 1
    sent = fake.requests[0][2]
    assert sent["filters"] == [
        {"field": "dateUpdated", "operator": "range", "value": {"gte": subscription.watermark}}
    ]
    assert subscription.last_run_changed == 0


@pytest.mark.django_db
def test_an_incremental_run_writes_only_what_changed(fake, make_subscription, location):
    fake.add(150)
    subscription = make_subscription()
    run_once(subscription)
    fake.change(3, firstName="Renamed")
    fake.change(140, email="new@example.com")
    fake.add(2)
    run_once(subscription)
    assert subscription.last_run_changed == 4
    assert rankr_contacts(location) == fake_contacts(fake)


@pytest.mark.django_db
def test_a_full_pass_soft_deletes_what_highlevel_no_longer_has(fake, make_subscription, location):
    fake.add(120)
    subscription = make_subscription()
    run_once(subscription)
    gone = fake.delete(7)
    run_once(subscription, backfill=True)
    assert Contact.objects.get(ghl_id=gone["id"]).deleted_at is not None
    assert rankr_contacts(location) == fake_contacts(fake)


@pytest.mark.django_db
def test_a_run_killed_midway_resumes_from_its_checkpoint(fake, make_subscription, location):
    fake.add(1000)
    subscription = make_subscription(trigger="List Contacts (Deprecated)")
    fake.kill_on = 5
    with pytest.raises(Killed):
        run_once(subscription)
    subscription.refresh_from_db()
    assert subscription.backfill_pages == 4
    assert Contact.objects.filter(location=location).count() == 400
    checkpoint = subscription.cursor["params"]["startAfterId"]
    assert checkpoint == fake.rows[399]["id"]
    # The worker is gone: its job's lease passes and the tick sends the job again.
    fake.kill_on = None
    job = Job.objects.get(pk=subscription.claimed_job_id)
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert jobs_dispatch_due() == 1
    job_run(job_id=job.pk)
    assert list(job.attempt_rows.order_by("number").values_list("outcome", flat=True)) == [
        "worker_lost",
        "succeeded",
    ]
    subscription.refresh_from_db()
    resumed = [q.get("startAfterId") for _, _, q in fake.requests[5:]]
    assert resumed[0] == checkpoint  # the killed page again, nothing before it
    assert len(fake.requests) == 11  # 4 + the killed one + 6 to finish
    assert rankr_contacts(location) == fake_contacts(fake)
    assert subscription.backfill_records == 1000 and subscription.backfill_pages == 10
    assert subscription.last_run_changed == 600  # nothing written twice


@pytest.mark.django_db
def test_a_run_that_lost_its_claim_changes_nothing(fake, make_subscription, location):
    fake.add(300)
    subscription = make_subscription()
    first = subscription_run_now(subscription_id=subscription.pk, user_id=None)
    # The claim lapses and another job takes the subscription before the first one runs.
    Subscription.objects.filter(pk=subscription.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    second = subscription_run_now(subscription_id=subscription.pk, user_id=None, backfill=True)
    assert second is not None and second.pk != first.pk
    assert job_run(job_id=first.pk) == Job.Status.SKIPPED
    first.refresh_from_db()
    assert first.result["outcome"] == Subscription.Outcome.SUPERSEDED
    assert first.status == "skipped" and first.superseded_by_id == second.pk
    attempt = first.attempt_rows.get()
    assert attempt.outcome == "skipped" and attempt.superseded_by_id == second.pk
    assert f"Superseded by job {second.pk}" in attempt.error_message
    assert fake.requests == [] and not Contact.objects.exists()
    job_run(job_id=second.pk)
    assert rankr_contacts(location) == fake_contacts(fake)


@pytest.mark.django_db
def test_a_long_pass_hands_over_to_a_continuation_job(
    fake, make_subscription, location, monkeypatch
):
    from integrations.sync.subscriptions import run

    fake.add(500)
    subscription = make_subscription()
    budget = iter([-1, 1e9])  # the first job stops after one page, the next one finishes
    current = [None]

    def one_page_then_all():
        if current[0] is None:
            current[0] = next(budget)
        return current[0]

    monkeypatch.setattr(run, "run_budget_s", one_page_then_all)
    first = run_once(subscription)
    assert first.result["outcome"] == "continued"
    following = Job.objects.get(pk=first.result["continuation_job"])
    assert subscription.claimed_job_id == following.pk and subscription.backfill_pages == 1
    current[0] = None
    job_run(job_id=following.pk)
    subscription.refresh_from_db()
    # Five full pages, then an empty one says the list ended.
    assert subscription.backfill_finished_at and subscription.backfill_pages == 6
    assert subscription.last_run_records == 500 and subscription.last_run_requests == 6
    assert rankr_contacts(location) == fake_contacts(fake)
