import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.urls import reverse
from django.utils import timezone

from integrations.models import WebhookEvent
from integrations.sync import webhooks_in as webhook_services

URL = "/integrations/webhooks/highlevel/"


@pytest.fixture
def handled(monkeypatch):
    seen = []
    monkeypatch.setitem(
        webhook_services.EVENT_HANDLERS,
        "ContactCreate",
        lambda event: seen.append(event.payload["id"]),
    )
    return seen


def post(client, key, **fields):
    payload = {
        "type": "ContactCreate",
        "locationId": "loc-A",
        "id": "contact-1",
        "timestamp": timezone.now().isoformat(),
        "webhookId": "wh-1",
        **fields,
    }
    raw = json.dumps(payload).encode()
    signature = base64.b64encode(key.sign(raw)).decode()
    return client.post(URL, raw, content_type="application/json", HTTP_X_GHL_SIGNATURE=signature)


def test_the_url_is_routed():
    assert reverse("integrations:highlevel_webhook") == URL


@pytest.mark.django_db(transaction=True)
def test_an_authentic_event_is_stored_acknowledged_and_processed(
    client, signing_key, handled, locations, q_sync
):
    response = post(client, signing_key)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.location == locations["A"] and event.scheme == "ed25519"
    assert handled == ["contact-1"]


@pytest.mark.django_db(transaction=True)
def test_a_replayed_webhook_id_is_answered_but_processed_once(client, signing_key, handled, q_sync):
    assert post(client, signing_key).status_code == 200
    again = post(client, signing_key)
    assert again.status_code == 200 and b"duplicate" in again.content
    assert WebhookEvent.objects.exclude(status="rejected").count() == 1
    assert handled == ["contact-1"]


@pytest.mark.django_db
def test_a_bad_signature_gets_401_and_is_logged_without_processing(client, signing_key, handled):
    forged = ed25519.Ed25519PrivateKey.generate()
    response = post(client, forged)
    assert response.status_code == 401
    event = WebhookEvent.objects.get()
    assert event.status == "rejected" and "does not match" in event.reason
    assert event.payload is None and handled == []


@pytest.mark.django_db
def test_an_authentic_event_of_an_unknown_type_is_stored_and_answered_200(
    client, signing_key, handled
):
    response = post(client, signing_key, type="SomethingNew", webhookId="wh-9")
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == "ignored" and event.event_type == "SomethingNew"
    assert handled == []


@pytest.mark.django_db
def test_a_stale_event_is_refused(client, signing_key):
    old = (timezone.now() - timezone.timedelta(minutes=10)).isoformat()
    assert post(client, signing_key, timestamp=old).status_code == 401


@pytest.mark.django_db
def test_an_oversized_body_is_refused_without_reading_it_as_an_event(client, signing_key):
    raw = b"{" + b" " * (webhook_services.MAX_BODY_BYTES + 1) + b"}"
    response = client.post(URL, raw, content_type="application/json")
    assert response.status_code == 413 and not WebhookEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_handler_is_recorded_on_the_event(client, signing_key, monkeypatch, q_sync):
    def boom(event):
        raise ValueError("mapping rule 2 (email): not an email")

    monkeypatch.setitem(webhook_services.EVENT_HANDLERS, "ContactCreate", boom)
    assert post(client, signing_key).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == "failed" and "rule 2 (email)" in event.reason


def test_only_post_is_allowed(client):
    assert client.get(URL).status_code == 405


# --- an intake that never drops: 429 (which HighLevel retries), never 500 -----------------------


@pytest.fixture
def contact_events(monkeypatch, locations):
    """ContactCreate makes a real "webhook" job, as the record handler does."""
    from integrations.sync.webhook_events import webhook_event_enqueue

    monkeypatch.setitem(webhook_services.EVENT_HANDLERS, "ContactCreate", webhook_event_enqueue)


@pytest.mark.django_db
def test_an_event_that_cannot_be_stored_is_answered_429_with_retry_after(
    client, signing_key, monkeypatch
):
    from django.db import OperationalError

    def down(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(WebhookEvent.objects, "create", down)
    response = post(client, signing_key)
    assert response.status_code == 429 and response["Retry-After"] == "30"


@pytest.mark.django_db
def test_an_unexpected_failure_is_answered_429_not_500(client, signing_key, monkeypatch):
    monkeypatch.setattr(
        "integrations.interfaces.views_webhooks.webhook_receive",
        lambda **kw: (_ for _ in ()).throw(RuntimeError("bug")),
    )
    assert post(client, signing_key).status_code == 429


@pytest.mark.django_db
def test_an_event_stored_but_not_queued_is_429_then_the_retry_queues_it_once(
    client, signing_key, contact_events, monkeypatch
):
    from integrations.models import Job

    sent = []

    def broker(*args, **kwargs):
        if broker.down:
            raise ConnectionError("redis: connection refused")
        sent.append(args)

    broker.down = True
    monkeypatch.setattr("django_q.tasks.async_task", broker)
    first = post(client, signing_key)
    assert first.status_code == 429 and b"stored, not queued" in first.content
    job = Job.objects.get(kind="webhook")
    assert job.status == "queued" and job.sent_at is None
    assert WebhookEvent.objects.get().status == "received"
    broker.down = False
    again = post(client, signing_key)  # HighLevel's retry, same webhookId
    assert again.status_code == 200 and b"duplicate" in again.content
    assert sent == [("integrations.interfaces.tasks.job_run_task", job.pk)]
    third = post(client, signing_key)
    assert third.status_code == 200 and len(sent) == 1  # queued already: not sent again
    assert Job.objects.count() == 1 and WebhookEvent.objects.count() == 1


# --- the acknowledgement's cost: one transaction, nothing made again per delivery ---------------


@pytest.mark.django_db(transaction=True)
def test_an_event_its_job_and_its_queue_entry_commit_together_on_one_connection(
    client, signing_key, contact_events
):
    from django.db import connection
    from django.db.backends.signals import connection_created
    from django.test.utils import CaptureQueriesContext
    from django_q.conf import Conf
    from django_q.models import OrmQ

    from integrations.models import Job

    if not Conf.ORM:
        pytest.skip("the broker's queue is not a table of this database (Redis)")
    opened = []

    def created(sender, connection, **kwargs):
        opened.append(connection)

    connection_created.connect(created)
    try:
        with CaptureQueriesContext(connection) as queries:
            assert post(client, signing_key).status_code == 200
    finally:
        connection_created.disconnect(created)
    job = Job.objects.get(kind="webhook")
    assert job.sent_at is not None and OrmQ.objects.count() == 1
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert statements.count("COMMIT") == 1, statements
    after_commit = statements[statements.index("COMMIT") + 1 :]
    assert not {"INSERT", "UPDATE", "DELETE"} & set(after_commit), statements
    assert opened == []  # the broker did not close the request's connection half-way


@pytest.mark.django_db(transaction=True)
def test_keys_and_the_broker_are_made_once_not_per_delivery(
    client, signing_key, contact_events, monkeypatch
):
    from cryptography.hazmat.primitives import serialization
    from django_q import brokers

    loads, brokers_made = [], []
    load_pem = serialization.load_pem_public_key
    monkeypatch.setattr(
        serialization, "load_pem_public_key", lambda pem: loads.append(pem) or load_pem(pem)
    )
    get_broker = brokers.get_broker
    monkeypatch.setattr(
        brokers, "get_broker", lambda *a, **k: brokers_made.append(a) or get_broker(*a, **k)
    )
    for n in range(3):
        assert post(client, signing_key, webhookId=f"wh-{n}").status_code == 200
    assert len(loads) <= 1 and len(brokers_made) <= 1


@pytest.mark.django_db(transaction=True)
def test_with_a_broker_outside_the_database_the_job_is_sent_after_its_one_commit(
    client, signing_key, contact_events, monkeypatch
):
    """Redis: the job is marked sent in the event's transaction and pushed after it commits;
    a push refused clears the mark (the retry, or the tick, sends it)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrations.models import Job

    pushed = []

    def broker(*args, **kwargs):
        if broker.down:
            raise ConnectionError("redis: connection refused")
        pushed.append(args)

    broker.down = False
    monkeypatch.setattr("django_q.tasks.async_task", broker)
    monkeypatch.setattr("integrations.sync.jobs._queue_in_database", lambda broker: False)
    with CaptureQueriesContext(connection) as queries:
        assert post(client, signing_key).status_code == 200
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert statements.count("COMMIT") == 1 and statements[-1] == "COMMIT", statements
    job = Job.objects.get(kind="webhook")
    assert job.sent_at is not None and pushed == [
        ("integrations.interfaces.tasks.job_run_task", job.pk)
    ]

    broker.down = True
    refused = post(client, signing_key, webhookId="wh-2", id="contact-2")
    assert refused.status_code == 429 and b"stored, not queued" in refused.content
    assert Job.objects.get(idempotency_key="webhook:wh-2").sent_at is None
