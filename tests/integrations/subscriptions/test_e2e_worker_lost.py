"""A real ``qcluster`` SIGKILLed mid-backfill, with the task timeout at its default (600 s): the
job is taken up again within its lease plus one dispatcher tick, from its checkpoint, with a
*worker lost* attempt on record."""

import time

import pytest

from integrations.models import Job, Subscription, SyncLog
from tests.integrations.subscriptions.test_e2e_sandbox import (  # noqa: F401 - fixtures
    rankr_contacts,
    sandbox_contacts,
    seed_contacts,
    stack,
    subscription,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LEASE_S, HEARTBEAT_S, TICK_S = 10, 3, 2


@pytest.fixture
def stack_env():
    return {"Q_TIMEOUT": 600, "JOB_LEASE_S": LEASE_S, "JOB_HEARTBEAT_S": HEARTBEAT_S}


def test_a_killed_worker_s_job_resumes_from_its_checkpoint_within_lease_and_a_tick(stack, subscription):
    seed_contacts(3950)
    worker = stack.worker()
    stack.dispatcher(every=TICK_S)  # the Procfile's dispatcher: the tick, every few seconds
    wait_for(lambda: Subscription.objects.get(pk=subscription.pk).backfill_pages >= 6,
             timeout=300, tick=False, what="6 pages")
    job = Job.objects.get(pk=Subscription.objects.get(pk=subscription.pk).claimed_job_id)
    worker.kill()  # SIGKILL to the cluster's process group, mid-page
    killed_at = time.time()
    pages_before = Subscription.objects.get(pk=subscription.pk).backfill_pages
    assert Job.objects.get(pk=job.pk).status == "running"
    stack.worker()
    wait_for(lambda: job.attempt_rows.count() == 2, timeout=120, tick=False, what="the job taken up")
    first, second = job.attempt_rows.order_by("number")
    recovery_s = second.started_at.timestamp() - killed_at
    print(f"recovery_s: {recovery_s:.1f}")
    # The lease was renewed at most a heartbeat before the kill; one tick later it is seen passed.
    assert recovery_s <= LEASE_S + TICK_S + 3, recovery_s
    assert first.outcome == "worker_lost" and first.ended_at and first.error_class == "WorkerLost"
    wait_for(lambda: Subscription.objects.get(pk=subscription.pk).backfill_finished_at,
             timeout=300, tick=False, what="the resumed backfill")
    sub = Subscription.objects.get(pk=subscription.pk)
    # Every page applied once (counters move in the pages' transactions): 39 of 100 and one of 50.
    assert (sub.backfill_pages, sub.backfill_records) == (40, 3950)
    assert rankr_contacts(sub.location_id) == sandbox_contacts()
    second.refresh_from_db()
    job.refresh_from_db()
    assert second.outcome == "succeeded" and job.status == "succeeded"
    # The second attempt resumed from the checkpoint: it fetched only the pages left (plus at most
    # the one the kill interrupted), and its calls are on record under it.
    fetched = SyncLog.objects.filter(job_id=job.pk, job_attempt_id=second.pk).count()
    assert 40 - pages_before <= fetched <= 40 - pages_before + 1, (fetched, pages_before)
