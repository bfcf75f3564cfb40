import base64
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from sandbox.access.models import Installation, WebhookDelivery, WebhookEvent, WebhookKey
from sandbox.access.services.registry import sandbox_app_register, sandbox_demo_company_ensure
from sandbox.access.services.webhooks import webhook_deliveries_wait, webhook_emit


class Receiver:
    """A webhook endpoint on a free port that records what it receives."""

    def __init__(self, status=200, delay=0.0):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(delay)
                received.append({"headers": dict(self.headers), "body": body})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(**kwargs):
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def install(url, *, location_id="demo-loc-0001", client_id="hooked-app"):
    company = sandbox_demo_company_ensure()
    app = sandbox_app_register(
        name=client_id,
        redirect_uris=["https://x.test/cb"],
        scopes=["contacts.readonly"],
        webhook_url=url,
        client_id=client_id,
    ).app
    location = company.locations.get(location_id=location_id)
    Installation.objects.create(app=app, company=company, location=location)
    return app


@pytest.mark.slow  # a live receiver over HTTP
def test_an_event_arrives_signed_and_both_signatures_verify_with_the_published_keys(
    transactional_db, client, receiver
):
    hook = receiver()
    install(hook.url)
    event = webhook_emit(
        location_id="demo-loc-0001",
        event_type="ContactCreate",
        payload={"id": "c-1", "email": "ann@example.com", "tags": ["vip"]},
    )
    assert webhook_deliveries_wait(timeout=30)
    assert len(hook.received) == 1
    got = hook.received[0]
    body = json.loads(got["body"])
    assert body["type"] == "ContactCreate" and body["locationId"] == "demo-loc-0001"
    assert body["id"] == "c-1" and body["webhookId"] == event.webhook_id
    sent_at = datetime.strptime(body["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - sent_at) < timedelta(minutes=1)
    assert got["body"] == event.body.encode()

    keys = client.get("/sandbox/webhook-keys").json()
    rsa_public = serialization.load_pem_public_key(keys["rsa"].encode())
    ed_public = serialization.load_pem_public_key(keys["ed25519"].encode())
    # x-wh-signature: RSA-SHA256 (PKCS#1 v1.5) over the raw body, base64 (WebhookAuthentication.md).
    rsa_public.verify(
        base64.b64decode(got["headers"]["x-wh-signature"]),
        got["body"],
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    ed_public.verify(base64.b64decode(got["headers"]["x-ghl-signature"]), got["body"])
    # A changed body no longer verifies.
    with pytest.raises(InvalidSignature):
        ed_public.verify(base64.b64decode(got["headers"]["x-ghl-signature"]), got["body"] + b" ")
    with pytest.raises(InvalidSignature):
        rsa_public.verify(
            base64.b64decode(got["headers"]["x-wh-signature"]),
            got["body"][:-1] + b" ",
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)


def test_the_public_keys_are_published_as_pem_and_the_private_halves_are_encrypted(db, client):
    rsa_pem = client.get("/sandbox/webhook-keys/rsa.pem")
    assert rsa_pem["Content-Type"] == "application/x-pem-file"
    assert rsa_pem.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert serialization.load_pem_public_key(rsa_pem.content).key_size == 4096
    assert client.get("/sandbox/webhook-keys/ed25519.pem").content.startswith(
        b"-----BEGIN PUBLIC KEY-----"
    )
    assert client.get("/sandbox/webhook-keys/dsa.pem").status_code == 404
    for key in WebhookKey.objects.all():
        assert b"PRIVATE" not in bytes(key.private_encrypted)
    # Generated once: asking again gives the same keys.
    assert client.get("/sandbox/webhook-keys").json()["rsa"].encode() == rsa_pem.content


@pytest.mark.slow  # a live receiver over HTTP
def test_delivery_happens_after_commit_and_does_not_hold_the_caller(transactional_db, receiver):
    hook = receiver(delay=1.5)
    install(hook.url)
    started = time.monotonic()
    webhook_emit(location_id="demo-loc-0001", event_type="TaskCreate", payload={"id": "t-1"})
    assert time.monotonic() - started < 1.0
    assert webhook_deliveries_wait(timeout=30)
    assert len(hook.received) == 1


@pytest.mark.slow  # a live receiver over HTTP
def test_only_apps_installed_on_the_location_or_its_agency_receive_it(transactional_db, receiver):
    here, elsewhere, agency = receiver(), receiver(), receiver()
    install(here.url, client_id="here")
    install(elsewhere.url, location_id="demo-loc-0002", client_id="elsewhere")
    company = sandbox_demo_company_ensure()
    agency_app = sandbox_app_register(
        name="agency",
        redirect_uris=[],
        scopes=["contacts.readonly"],
        webhook_url=agency.url,
        client_id="agency",
    ).app
    Installation.objects.create(app=agency_app, company=company, location=None)
    webhook_emit(location_id="demo-loc-0001", event_type="NoteCreate", payload={"id": "n-1"})
    assert webhook_deliveries_wait(timeout=30)
    assert (len(here.received), len(elsewhere.received), len(agency.received)) == (1, 0, 1)


@pytest.mark.slow  # a live receiver over HTTP
def test_a_failing_receiver_is_retried_then_recorded_as_failed(transactional_db, receiver):
    hook = receiver(status=503)
    install(hook.url)
    webhook_emit(location_id="demo-loc-0001", event_type="ContactDelete", payload={"id": "c-9"})
    assert webhook_deliveries_wait(timeout=30)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 3, 503)
    assert len(hook.received) == 3
    assert WebhookEvent.objects.get().deliveries.count() == 1


@pytest.mark.slow  # a live receiver over HTTP
def test_an_event_inside_a_rolled_back_transaction_is_never_sent(transactional_db, receiver):
    from django.db import transaction

    hook = receiver()
    install(hook.url)
    with pytest.raises(RuntimeError):  # noqa: PT012 (the raise must leave the atomic block)
        with transaction.atomic():
            webhook_emit(
                location_id="demo-loc-0001", event_type="ContactCreate", payload={"id": "c-2"}
            )
            raise RuntimeError("the change failed")
    assert webhook_deliveries_wait(timeout=5)
    assert hook.received == [] and not WebhookEvent.objects.exists()


@pytest.mark.slow  # a live receiver over HTTP
def test_an_app_without_the_events_scope_does_not_receive_it(transactional_db, receiver):
    hook = receiver()
    app = install(hook.url)
    app.scopes = "locations.readonly"
    app.save()
    # ContactCreate needs contacts.readonly (Scopes.md); ContactUpdate is not in that table.
    webhook_emit(location_id="demo-loc-0001", event_type="ContactCreate", payload={"id": "c-3"})
    webhook_emit(location_id="demo-loc-0001", event_type="ContactUpdate", payload={"id": "c-3"})
    assert webhook_deliveries_wait(timeout=30)
    assert [json.loads(r["body"])["type"] for r in hook.received] == ["ContactUpdate"]


@pytest.mark.slow  # a live receiver over HTTP
def test_a_delivery_can_be_sent_again(transactional_db, receiver):
    from sandbox.access.services.webhooks import webhook_deliveries_resend

    hook = receiver()
    install(hook.url)
    webhook_emit(location_id="demo-loc-0001", event_type="UserCreate", payload={"id": "u-1"})
    assert webhook_deliveries_wait(timeout=30)
    delivery = WebhookDelivery.objects.get()
    assert webhook_deliveries_resend(delivery_ids=[delivery.pk]) == 1
    assert webhook_deliveries_wait(timeout=30)
    assert len(hook.received) == 2 and hook.received[0]["body"] == hook.received[1]["body"]
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
