import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from integrations.ghl.webhooks import (
    WebhookKeys,
    WebhookRejected,
    docs_rsa_public_key,
    webhook_verify,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def pem(public_key):
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.fixture(scope="module")
def signers():
    ed = ed25519.Ed25519PrivateKey.generate()
    rs = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = WebhookKeys(ed25519=(pem(ed.public_key()),), rsa=(pem(rs.public_key()),))

    def sign(body, *, ed_key=ed, rsa_key=rs):
        return {
            "x-ghl-signature": base64.b64encode(ed_key.sign(body)).decode(),
            "x-wh-signature": base64.b64encode(
                rsa_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
            ).decode(),
        }

    return keys, sign


def body(**overrides):
    payload = {
        "type": "ContactCreate",
        "locationId": "loc-A",
        "id": "c1",
        "timestamp": (NOW - timedelta(seconds=30)).isoformat().replace("+00:00", "Z"),
        "webhookId": "wh-1",
    }
    payload.update(overrides)
    return json.dumps(payload, separators=(",", ":")).encode()


def test_it_accepts_both_signatures_and_prefers_ed25519(signers):
    keys, sign = signers
    raw = body()
    event = webhook_verify(raw_body=raw, headers=sign(raw), keys=keys, now=NOW)
    assert event.scheme == "ed25519"
    assert (event.webhook_id, event.event_type, event.location_id) == (
        "wh-1",
        "ContactCreate",
        "loc-A",
    )


@pytest.mark.parametrize("only", ["x-ghl-signature", "x-wh-signature"])
def test_it_accepts_either_signature_alone(signers, only):
    keys, sign = signers
    raw = body()
    headers = {only: sign(raw)[only]}
    event = webhook_verify(raw_body=raw, headers=headers, keys=keys, now=NOW)
    assert event.scheme == ("ed25519" if only == "x-ghl-signature" else "rsa")


def test_it_rejects_a_tampered_body(signers):
    keys, sign = signers
    headers = sign(body())
    with pytest.raises(WebhookRejected, match="does not match"):
        webhook_verify(raw_body=body(id="c2"), headers=headers, keys=keys, now=NOW)


def test_a_reserialised_body_does_not_verify(signers):
    """The raw bytes are what is signed: pretty-printing the same JSON breaks the signature."""
    keys, sign = signers
    raw = body()
    pretty = json.dumps(json.loads(raw), indent=2).encode()
    with pytest.raises(WebhookRejected):
        webhook_verify(raw_body=pretty, headers=sign(raw), keys=keys, now=NOW)


def test_a_forged_header_is_not_ignored_when_the_other_passes(signers):
    keys, sign = signers
    raw = body()
    headers = sign(raw)
    headers["x-wh-signature"] = base64.b64encode(b"x" * 256).decode()
    with pytest.raises(WebhookRejected, match="x-wh-signature"):
        webhook_verify(raw_body=raw, headers=headers, keys=keys, now=NOW)


def test_it_rejects_another_signer(signers):
    keys, sign = signers
    raw = body()
    other = sign(raw, ed_key=ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(WebhookRejected, match="x-ghl-signature"):
        webhook_verify(
            raw_body=raw, headers={"x-ghl-signature": other["x-ghl-signature"]}, keys=keys, now=NOW
        )


@pytest.mark.parametrize(
    "headers, reason",
    [
        ({}, "no signature header"),
        ({"x-ghl-signature": "%%%not base64%%%"}, "not base64"),
    ],
)
def test_it_rejects_missing_or_malformed_signatures(signers, headers, reason):
    keys, _ = signers
    with pytest.raises(WebhookRejected, match=reason):
        webhook_verify(raw_body=body(), headers=headers, keys=keys, now=NOW)


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"timestamp": (NOW - timedelta(minutes=6)).isoformat()}, "more than 5 minutes"),
        ({"timestamp": (NOW + timedelta(minutes=6)).isoformat()}, "more than 5 minutes"),
        ({"timestamp": "yesterday"}, "not ISO 8601"),
        ({"timestamp": None}, "timestamp is missing"),
        ({"webhookId": ""}, "webhookId is missing"),
    ],
)
def test_it_rejects_stale_or_incomplete_events(signers, overrides, reason):
    keys, sign = signers
    raw = body(**overrides)
    with pytest.raises(WebhookRejected, match=reason):
        webhook_verify(raw_body=raw, headers=sign(raw), keys=keys, now=NOW)


def test_it_rejects_a_signed_body_that_is_not_json(signers):
    keys, sign = signers
    raw = b"<html>oops</html>"
    with pytest.raises(WebhookRejected, match="not JSON"):
        webhook_verify(raw_body=raw, headers=sign(raw), keys=keys, now=NOW)


def test_it_refuses_when_no_key_matches_the_scheme_received(signers):
    keys, sign = signers
    raw = body()
    only_rsa = WebhookKeys(rsa=keys.rsa)
    with pytest.raises(WebhookRejected, match="no configured public key"):
        webhook_verify(
            raw_body=raw,
            headers={"x-ghl-signature": sign(raw)["x-ghl-signature"]},
            keys=only_rsa,
            now=NOW,
        )


def test_highlevels_published_rsa_key_loads_and_refuses_our_signature(signers):
    _, sign = signers
    raw = body()
    keys = WebhookKeys(rsa=(docs_rsa_public_key(),))
    with pytest.raises(WebhookRejected, match="x-wh-signature does not match"):
        webhook_verify(
            raw_body=raw,
            headers={"x-wh-signature": sign(raw)["x-wh-signature"]},
            keys=keys,
            now=NOW,
        )


def test_a_bad_configured_key_is_a_clear_error(signers):
    _, sign = signers
    raw = body()
    with pytest.raises(WebhookRejected, match="not a valid PEM key"):
        webhook_verify(
            raw_body=raw, headers=sign(raw), keys=WebhookKeys(ed25519=("garbage",)), now=NOW
        )


@pytest.mark.parametrize("scheme", ["x-ghl-signature", "x-wh-signature"])
def test_a_rotation_never_drops_events_current_and_next_keys_both_verify(signers, scheme):
    """HighLevel announces rotations (WebhookAuthentication.md): both keys verify meanwhile."""
    keys, sign = signers
    new_ed = ed25519.Ed25519PrivateKey.generate()
    new_rs = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rotating = WebhookKeys(
        ed25519=keys.ed25519 + (pem(new_ed.public_key()),),
        rsa=keys.rsa + (pem(new_rs.public_key()),),
    )
    raw = body()
    for headers in (sign(raw), sign(raw, ed_key=new_ed, rsa_key=new_rs)):
        only = {scheme: headers[scheme]}
        assert (
            webhook_verify(raw_body=raw, headers=only, keys=rotating, now=NOW).webhook_id == "wh-1"
        )
    stranger = sign(
        raw,
        ed_key=ed25519.Ed25519PrivateKey.generate(),
        rsa_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )
    with pytest.raises(WebhookRejected, match="does not match"):
        webhook_verify(raw_body=raw, headers={scheme: stranger[scheme]}, keys=rotating, now=NOW)


def test_the_live_default_rsa_key_is_the_one_the_docs_publish(settings):
    from pathlib import Path

    from integrations.sync.webhooks_in import webhook_live_keys

    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = ""
    docs = (
        Path(__file__).resolve().parents[2] / "specs/highlevel/docs/oauth/WebhookAuthentication.md"
    ).read_text()
    published = docs[
        docs.index("-----BEGIN PUBLIC KEY-----") : docs.index("-----END PUBLIC KEY-----")
    ]
    live = webhook_live_keys()
    assert live.rsa[0].startswith(published)
    assert serialization.load_pem_public_key(live.rsa[0].encode()).key_size == 4096
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = "override"
    assert webhook_live_keys().rsa == ("override",)
