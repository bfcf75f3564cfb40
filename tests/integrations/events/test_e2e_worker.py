"""End to end with a real django-q2 worker (``manage.py qcluster`` in its own process) on the
configured broker (ORM by default, Redis when REDIS_URL is set), against the sandbox over HTTP.

The worker gets its own cluster name, so it only takes this test's tasks.
"""

import os
import sys
import time

import pytest
from django_q.conf import Conf

from integrations.models import Job, WebhookEvent
from integrations.sync.outbound import event_key
from integrations.sync.rankr_events import rankr_user_create
from rankr.models import Contact, RankrUser
from sandbox.access.services.webhooks import webhook_deliveries_wait
from tests.integrations.childproc import child_env
from tests.integrations.events.sandbox_world import LOCATION
from tests.integrations.subscriptions.test_e2e_sandbox import Child

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait_for(check, *, timeout=90, what="the worker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"{what} did not finish within {timeout}s")


@pytest.fixture
def worker(events_sandbox, settings, monkeypatch):
    name = f"events-e2e-{os.getpid()}"
    monkeypatch.setattr(Conf, "PREFIX", name)  # our tasks go to this cluster's queue only
    monkeypatch.setattr(Conf, "CLUSTER_NAME", name)
    env = child_env(Q_CLUSTER_NAME=name, Q_WORKERS=1, SANDBOX_BASE_URL=settings.SANDBOX_BASE_URL)
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    process = Child([sys.executable, "manage.py", "qcluster"], env)
    yield events_sandbox
    process.stop()


def test_a_webhook_and_a_rankr_user_are_processed_by_a_real_worker(worker):
    sandbox = worker["sandbox"]
    contact_id = sandbox.call(
        "GET", "/contacts/", params={"locationId": LOCATION, "limit": 1}
    ).json()["contacts"][0]["id"]
    assert (
        sandbox.call("PUT", f"/contacts/{contact_id}", json={"lastName": "Worker"}).status_code
        == 200
    )
    assert webhook_deliveries_wait(timeout=60)
    event = WebhookEvent.objects.get(event_type="ContactUpdate")
    wait_for(
        lambda: Job.objects.filter(
            idempotency_key=f"webhook:{event.webhook_id}", status="succeeded"
        ).exists(),
        what="the webhook job",
    )
    assert Contact.objects.get(ghl_id=contact_id).last_name == "Worker"
    assert Contact.objects.count() == 1

    user = rankr_user_create(
        location_id=worker["location"].pk,
        email="worker@northside.test",
        full_name="Wanda Worker",
        role="user",
    )
    key = event_key(event="user_create", record_id=user.pk)
    wait_for(
        lambda: (
            Job.objects.filter(idempotency_key=key)
            .exclude(status__in=["queued", "running"])
            .exists()
        ),
        what="the Create User job",
    )
    job = Job.objects.get(idempotency_key=key)
    assert job.status == "succeeded", job.error_message
    assert [u["id"] for u in sandbox.users_with_email("worker@northside.test")] == [
        job.result["ghl_id"]
    ]
    assert RankrUser.objects.get(pk=user.pk).ghl_id == job.result["ghl_id"]
