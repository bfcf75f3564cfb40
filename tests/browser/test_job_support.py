"""Support's loop in Chromium at 1366 px: a dead job re-run after the fault is removed, a
superseded run shown as skipped with its link, a permanent error that asks before a re-run, a job
waiting to retry, and the lists leading with status and error."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.ghl.errors import GhlInvalid, GhlServerError
from integrations.models import Job, SyncLog
from integrations.sync import job_runs
from integrations.sync.jobs import JobSkipped, job_enqueue, job_run
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
FAULT = {"on": True}


def faulty_handler(job):
    if job.params.get("superseded_by"):
        raise JobSkipped(
            f"Superseded by job {job.params['superseded_by']}: it holds this subscription's run.",
            superseded_by=job.params["superseded_by"],
        )
    if job.params.get("invalid"):
        raise GhlInvalid(
            "HighLevel answered 422: email is not valid", status=422, trace_id="tr-422"
        )
    if FAULT["on"]:
        raise GhlServerError("HighLevel answered 503", status=503, trace_id="tr-503")
    return {"created": "hl-77"}


@pytest.fixture
def support_page(browser, live_server, monkeypatch, role_users):
    # Webhook jobs: support re-runs what the sync does by itself (an action replays a person's
    # act and needs that person's permission).
    monkeypatch.setitem(
        job_runs.JOB_HANDLERS, "webhook", "tests.browser.test_job_support.faulty_handler"
    )
    FAULT["on"] = True
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto("/admin/")
    page.fill("input[name=login]", "supporter")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")
    yield page
    context.close()


def make(key, location, **params):
    return job_enqueue(
        kind="webhook",
        idempotency_key=key,
        location_id=location.pk,
        send=False,
        operation="POST /contacts/",
        subject=f"subject-{key}",
        params=params,
        max_attempts=2,
    )


def run_until_done(job):
    while job_run(job_id=job.pk) == "queued":
        Job.objects.filter(pk=job.pk).update(next_attempt_at=None)
    job.refresh_from_db()
    return job


def right_edge(page, selector):
    box = page.locator(selector).first.bounding_box()
    return box["x"] + box["width"]


def test_support_re_runs_a_dead_job_and_sees_skipped_and_permanent_ones(
    support_page, steps, locations, q_sync
):
    page = support_page
    holder = make("holder", locations["A"])
    skipped = run_until_done(make("skipped", locations["A"], superseded_by=holder.pk))
    dead = run_until_done(make("dead", locations["A"]))
    invalid = run_until_done(make("invalid", locations["B"], invalid=True))
    waiting = make("waiting", locations["B"])
    job_run(job_id=waiting.pk)  # a transient failure: waits to retry
    Job.objects.filter(pk=waiting.pk).update(  # its backoff outlasts the test on a busy machine
        max_attempts=5, next_attempt_at=timezone.now() + timedelta(minutes=10)
    )
    SyncLog.objects.create(
        location=locations["A"],
        method="POST",
        path="/contacts/",
        status=503,
        error="HighLevel answered 503: upstream unavailable",
        job_id=dead.pk,
        operation_id="create-contact",
        trace_id="tr-503",
    )
    assert (skipped.status, dead.status, invalid.status) == ("skipped", "dead", "failed")

    # The jobs list: status and error first, visible at 1366 px; times to the second, with the zone.
    page.goto("/admin/integrations/job/")
    steps.shot(page, "jobs list at 1366 px")
    headers = page.locator("#result_list thead th").all_inner_texts()
    assert [h.strip().lower() for h in headers[1:3]] == ["status", "error"]
    assert right_edge(page, "#result_list td.field-error_short") <= 1366
    text = page.inner_text("#result_list")
    assert f"superseded by job {holder.pk}" in text and "UTC" in text
    assert "attempt 2 of 5, next in" in text and "waiting to retry" in text
    # The skipped run links to the job that held the work.
    page.click(f"#result_list a:text('job {holder.pk}')")
    page.wait_for_url(f"**/admin/integrations/job/{holder.pk}/change/")

    page.goto(f"/admin/integrations/job/{skipped.pk}/change/")
    steps.shot(page, "a skipped run, superseded")
    assert "skipped" in page.inner_text(".job-attempts") and f"job {holder.pk}" in page.inner_text(
        ".job-summary"
    )

    # The dead job: the fault is removed, support re-runs it; a new attempt succeeds and the
    # failed ones stay on record.
    page.goto(f"/admin/integrations/job/{dead.pk}/change/")
    steps.shot(page, "a dead job with two failed attempts")
    assert page.locator(".job-attempts tr.attempt-failed").count() == 2
    FAULT["on"] = False
    page.click("#job-rerun")
    page.wait_for_url(f"**/admin/integrations/job/{dead.pk}/change/")
    steps.shot(page, "re-run: a new attempt succeeded")
    assert "succeeded" in page.inner_text(".job-summary")
    assert page.locator(".job-attempts tr.attempt-succeeded").count() == 1
    assert page.locator(".job-attempts tr.attempt-failed").count() == 2
    assert "HighLevel answered 503" in page.inner_text(".job-attempts")
    assert "UTC" in page.inner_text(".job-attempts")

    # A permanent error: the re-run asks first and says why it will likely fail again.
    page.goto(f"/admin/integrations/job/{invalid.pk}/change/")
    steps.shot(page, "a permanent error")
    page.click("#job-rerun")
    page.wait_for_selector(".job-rerun-confirm")
    steps.shot(page, "re-run asks first")
    reason = page.inner_text(".job-rerun-confirm")
    assert "will likely fail" in reason and "rejected the request as invalid" in reason
    assert Job.objects.get(pk=invalid.pk).status == "failed"
    page.click(".job-rerun-confirm a.cancel-link")
    page.wait_for_url(f"**/admin/integrations/job/{invalid.pk}/change/")
    assert Job.objects.get(pk=invalid.pk).reruns == 0

    # A job waiting to retry: the attempt line, and Retry now.
    page.goto(f"/admin/integrations/job/{waiting.pk}/change/")
    steps.shot(page, "waiting to retry")
    assert "attempt 2 of 5, next in" in page.inner_text(".job-summary")
    FAULT["on"] = False
    page.click("#job-retry-now")
    page.wait_for_url(f"**/admin/integrations/job/{waiting.pk}/change/")
    steps.shot(page, "retried now")
    assert Job.objects.get(pk=waiting.pk).status == "succeeded"

    # The sync log: status and error first, visible at 1366 px.
    page.goto("/admin/integrations/synclog/")
    steps.shot(page, "sync log at 1366 px")
    headers = page.locator("#result_list thead th").all_inner_texts()
    assert [h.strip().lower() for h in headers[1:3]] == ["http status", "error"]
    assert right_edge(page, "#result_list td.field-error_short") <= 1366
    assert "UTC" in page.inner_text("#result_list")
