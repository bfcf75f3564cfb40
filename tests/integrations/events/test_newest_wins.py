"""Newest wins by HighLevel's clock: signed webhooks delivered shuffled, by concurrent workers.

60 contacts are each updated 8 times in the sandbox, 50 more are created then updated, 15 of the
first are deleted; the sandbox's signed events are held back, then delivered in a shuffled order
by 8 threads to the portal's webhook URL (a live server: each delivery is processed in its own
server thread, as concurrent workers would). Afterwards every Rankr contact equals the sandbox's
latest version and no deleted contact came back.
"""

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection as db_connection

from integrations.ghl import webhooks as ghl_webhooks
from integrations.models import WebhookEvent
from rankr.models import Contact
from sandbox.access.models import WebhookDelivery
from sandbox.access.services import webhooks as sandbox_webhooks
from sandbox.models import Resource
from tests.integrations.events.sandbox_world import LOCATION

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

UPDATED, CREATED, DELETED = 60, 50, 15


@pytest.fixture
def world_held(events_sandbox, q_sync, monkeypatch):
    """The sandbox world with webhook deliveries recorded but not sent.

    Making 650 changes on a busy machine can take longer than the 5 minutes a webhook stays fresh
    (HighLevel delivers within seconds): the freshness window is widened, the rest is as live.
    """
    held = []
    monkeypatch.setattr(sandbox_webhooks, "_submit", held.append)
    monkeypatch.setattr(ghl_webhooks, "FRESHNESS", timedelta(hours=2))
    return events_sandbox, held


def deliver(delivery_id):
    try:
        return sandbox_webhooks.webhook_deliver(delivery_id=delivery_id).status
    finally:
        db_connection.close()


def test_shuffled_webhooks_leave_every_contact_at_its_latest_version_and_deletes_stay(world_held):
    world, held = world_held
    sandbox = world["sandbox"]

    def create(n, prefix):
        answer = sandbox.call(
            "POST",
            "/contacts/",
            json={
                "locationId": LOCATION,
                "firstName": f"V0-{prefix}{n}",
                "lastName": "Order",
                "email": f"{prefix}{n}@order.test",
            },
        )
        assert answer.status_code in (200, 201), answer.text
        return answer.json()["contact"]["id"]

    def update(contact_id, version, label):
        answer = sandbox.call(
            "PUT",
            f"/contacts/{contact_id}",
            json={"firstName": f"V{version}-{label}", "companyName": f"Company V{version}"},
        )
        assert answer.status_code == 200, answer.text

    updated = [create(n, "u") for n in range(UPDATED)]
    for version in range(1, 9):
        for n, contact_id in enumerate(updated):
            update(contact_id, version, f"u{n}")
    fresh = [create(n, "c") for n in range(CREATED)]
    for n, contact_id in enumerate(fresh):
        update(contact_id, 1, f"c{n}")
    deleted = updated[:DELETED]
    for contact_id in deleted:
        assert sandbox.call("DELETE", f"/contacts/{contact_id}").status_code == 200

    assert len(held) == UPDATED * 9 + CREATED * 2 + DELETED
    random.Random(7).shuffle(held)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(deliver, held))
    failed = WebhookDelivery.objects.exclude(status=WebhookDelivery.DELIVERED)
    assert set(statuses) == {"delivered"}, [(d.response_status, d.error) for d in failed[:5]]
    assert WebhookEvent.objects.count() == len(held)

    wrong, revived = [], []
    for resource in Resource.objects.filter(kind="contact", resource_id__in=updated + fresh):
        row = Contact.objects.get(location=world["location"], ghl_id=resource.resource_id)
        if resource.deleted:
            if row.deleted_at is None:
                revived.append((resource.resource_id, row.first_name))
            continue
        latest = resource.data
        if (row.deleted_at, row.first_name, row.company) != (
            None,
            latest["firstName"],
            latest["companyName"],
        ):
            wrong.append((resource.resource_id, row.first_name, latest["firstName"]))
    assert revived == [] and wrong == [], (len(revived), len(wrong), revived[:3], wrong[:3])
    assert Contact.objects.filter(ghl_id__in=updated + fresh).count() == UPDATED + CREATED
