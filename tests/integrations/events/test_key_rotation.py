"""A rotation of the sandbox's signing keys drops no event at the portal: the next key is
published beside the current one, signing moves to it, and the old key keeps verifying until it
is removed (docs/oauth/WebhookAuthentication.md announces such rotations)."""

import base64
import json
import uuid

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from integrations.models import WebhookEvent
from integrations.sync.webhooks_in import SANDBOX_KEYS_CACHE, SANDBOX_KEYS_REFETCHED
from rankr.models import Contact
from sandbox.access.models import WebhookKey
from sandbox.access.services.secrets import secret_decrypt
from sandbox.access.services.webhooks import webhook_deliveries_wait
from tests.integrations.events.sandbox_world import LOCATION

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(events_sandbox, q_sync):
    cache.delete(SANDBOX_KEYS_REFETCHED)
    yield events_sandbox
    cache.delete(SANDBOX_KEYS_REFETCHED)


def rotate(live_server, step):
    answer = requests.post(
        f"{live_server.url}/sandbox/control/webhook-keys", json={"step": step}, timeout=20
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def rename(world, contact_id, name):
    changed = world["sandbox"].call("PUT", f"/contacts/{contact_id}", json={"firstName": name})
    assert changed.status_code == 200, changed.text
    assert webhook_deliveries_wait(timeout=60)
    return WebhookEvent.objects.filter(event_type="ContactUpdate").latest("pk")


def signed_with(keys, body):
    """Both signature headers over ``body`` made with the given sandbox key rows."""
    headers = {}
    for key in keys:
        private = serialization.load_pem_private_key(
            secret_decrypt(value=key.private_encrypted), password=None
        )
        if key.kind == WebhookKey.RSA:
            signature = private.sign(body, padding.PKCS1v15(), hashes.SHA256())
            headers["HTTP_X_WH_SIGNATURE"] = base64.b64encode(signature).decode()
        else:
            headers["HTTP_X_GHL_SIGNATURE"] = base64.b64encode(private.sign(body)).decode()
    return headers


def deliver_signed_by(client, keys):
    body = json.dumps(
        {
            "type": "ContactDndUpdate",
            "locationId": LOCATION,
            "id": "c-rotation",
            "timestamp": timezone.now().isoformat(),
            "webhookId": str(uuid.uuid4()),
        }
    ).encode()
    return client.post(
        reverse("integrations:highlevel_webhook"),
        body,
        content_type="application/json",
        **signed_with(keys, body),
    )


def test_a_key_rotation_drops_no_event_and_the_old_key_verifies_until_removed(
    world, live_server, client
):
    contact_id = (
        world["sandbox"]
        .call("GET", "/contacts/", params={"locationId": LOCATION})
        .json()["contacts"][0]["id"]
    )
    first = rename(world, contact_id, "Before")  # the portal now holds the current keys only
    assert first.status == "processed", first.error
    old = list(WebhookKey.objects.filter(state=WebhookKey.CURRENT))
    assert len(old) == 2

    published = rotate(live_server, "announce")
    for kind in ("ed25519", "rsa"):
        assert len(published[f"{kind}_keys"]) == 2
        assert published[kind] == published[f"{kind}_keys"][0]  # the current key still signs
    rotate(live_server, "promote")
    new = list(WebhookKey.objects.filter(state=WebhookKey.CURRENT))
    assert {k.public_pem for k in new}.isdisjoint({k.public_pem for k in old})

    # Signed with the new key while the portal's cached list predates the rotation: not dropped.
    during = rename(world, contact_id, "During")
    assert during.status == "processed", during.error
    assert Contact.objects.get(ghl_id=contact_id).first_name == "During"
    # The old key is still published (previous): what it signed still verifies.
    cache.delete(SANDBOX_KEYS_REFETCHED)
    assert deliver_signed_by(client, old).status_code == 200

    published = rotate(live_server, "retire")
    assert all(len(published[f"{kind}_keys"]) == 1 for kind in ("ed25519", "rsa"))
    cache.delete(SANDBOX_KEYS_CACHE)  # as when the portal's ten-minute copy of the list expires
    refused = deliver_signed_by(client, old)
    assert refused.status_code == 401, refused.content
    assert deliver_signed_by(client, new).status_code == 200
    after = rename(world, contact_id, "After")
    assert after.status == "processed", after.error


def test_promoting_without_an_announced_key_is_refused(world, live_server):
    rotate(live_server, "retire")
    answer = requests.post(
        f"{live_server.url}/sandbox/control/webhook-keys", json={"step": "promote"}, timeout=20
    )
    assert answer.status_code == 409 and "announce one first" in answer.text
    bad = requests.post(
        f"{live_server.url}/sandbox/control/webhook-keys", json={"step": "spin"}, timeout=20
    )
    assert bad.status_code == 400 and "announce, promote, retire" in bad.text
