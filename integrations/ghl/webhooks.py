"""Verification of HighLevel's webhooks: signature on the raw body, freshness, and shape.

Sources of each header and key:

- ``x-wh-signature``: base64 RSA PKCS#1 v1.5 / SHA-256 over the raw body, verified with the public
  key HighLevel publishes in docs/oauth/WebhookAuthentication.md. That page says the key will be
  rotated (announced by email and in the developer Slack), so the verifier takes a list: the
  current key and the announced next one, and either verifies.
- ``x-ghl-signature``: base64 Ed25519 over the raw body, as verified by HighLevel's official SDK
  (gohighlevel-api-client 3.0.0, ``highlevel/webhook/webhook_manager.py``: preferred over
  ``x-wh-signature`` when both arrive; the key comes from the app's settings, env
  ``WEBHOOK_SIGNATURE_PUBLIC_KEY`` in the SDK). The docs copy publishes no Ed25519 key, so it is
  configured (``GHL_WEBHOOK_ED25519_PUBLIC_KEY`` and ``..._NEXT``).

The body must be verified as received: re-serialising the parsed JSON changes the bytes.
"""

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from portal.errors import PortalError

ED25519_HEADER = "x-ghl-signature"
RSA_HEADER = "x-wh-signature"
FRESHNESS = timedelta(minutes=5)

DOCS_WEBHOOK_AUTH = (
    Path(__file__).resolve().parents[2]
    / "specs"
    / "highlevel"
    / "docs"
    / "oauth"
    / "WebhookAuthentication.md"
)
_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.S)


@cache
def docs_rsa_public_key() -> str:
    """The RSA public key HighLevel publishes in WebhookAuthentication.md (the project's copy)."""
    match = _PEM_BLOCK.search(DOCS_WEBHOOK_AUTH.read_text(encoding="utf-8"))
    if match is None:
        raise RuntimeError(f"no public key block in {DOCS_WEBHOOK_AUTH}")
    return match.group(0) + "\n"


class WebhookRejected(PortalError):
    """The request is not an authentic, fresh HighLevel webhook. `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebhookKeys:
    """Public keys (PEM) that may sign webhooks, per scheme: current first, then the next ones."""

    ed25519: tuple[str, ...] = ()
    rsa: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "ed25519", tuple(k for k in self.ed25519 if k))
        object.__setattr__(self, "rsa", tuple(k for k in self.rsa if k))


@dataclass(frozen=True)
class VerifiedWebhook:
    payload: dict[str, Any]
    webhook_id: str
    event_type: str
    location_id: str
    timestamp: datetime
    scheme: str


@lru_cache(maxsize=32)  # parsed once per process, not per delivery (the set of keys is small)
def _load_key(pem: str, name: str) -> PublicKeyTypes:
    try:
        return serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise WebhookRejected(f"the configured {name} public key is not a valid PEM key") from exc


def _wrong_key(name: str) -> WebhookRejected:
    return WebhookRejected(f"the configured {name} public key is not an {name} key")


def _decode_signature(value: str, header: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRejected(f"{header} is not base64") from None


def _verifies_with_any(pems: Iterable[str], name: str, check: Callable[[Any], None]) -> bool:
    """True when ``check(key)`` passes for one of ``pems`` (each must be a ``name`` key)."""
    expected = ed25519.Ed25519PublicKey if name == "Ed25519" else rsa.RSAPublicKey
    for pem in pems:
        key = _load_key(pem, name)
        if not isinstance(key, expected):
            raise _wrong_key(name)
        try:
            check(key)
            return True
        except InvalidSignature:
            continue
    return False


def webhook_signature_verify(
    *, raw_body: bytes, headers: Mapping[str, str], keys: WebhookKeys
) -> str:
    """Check the raw body's signature; return the scheme that verified ("ed25519" or "rsa").

    Each scheme passes when any of its keys (current or next) verifies. Ed25519 is preferred when
    both headers and keys are present. A present but wrong signature is rejected even if the
    other scheme would pass: a forged header is never ignored.
    """
    ed_sig = headers.get(ED25519_HEADER, "")
    rsa_sig = headers.get(RSA_HEADER, "")
    if not ed_sig and not rsa_sig:
        raise WebhookRejected("no signature header (x-ghl-signature or x-wh-signature)")
    verified = None
    if ed_sig and keys.ed25519:
        ed_signature = _decode_signature(ed_sig, ED25519_HEADER)
        if not _verifies_with_any(
            keys.ed25519, "Ed25519", lambda key: key.verify(ed_signature, raw_body)
        ):
            raise WebhookRejected("x-ghl-signature does not match the body")
        verified = "ed25519"
    if rsa_sig and keys.rsa:
        rsa_signature = _decode_signature(rsa_sig, RSA_HEADER)
        if not _verifies_with_any(
            keys.rsa,
            "RSA",
            lambda key: key.verify(rsa_signature, raw_body, padding.PKCS1v15(), hashes.SHA256()),
        ):
            raise WebhookRejected("x-wh-signature does not match the body")
        verified = verified or "rsa"
    if verified is None:
        raise WebhookRejected("no configured public key for the signature scheme received")
    return verified


def _parse_timestamp(value: object) -> datetime:
    if not isinstance(value, str) or not value:
        raise WebhookRejected("timestamp is missing")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise WebhookRejected(f"timestamp {value[:40]!r} is not ISO 8601") from None
    if parsed.tzinfo is None:
        raise WebhookRejected("timestamp has no time zone")
    return parsed


def webhook_verify(
    *, raw_body: bytes, headers: Mapping[str, str], keys: WebhookKeys, now: datetime
) -> VerifiedWebhook:
    """Signature, then JSON shape, then freshness (within 5 minutes either way of `now`)."""
    scheme = webhook_signature_verify(raw_body=raw_body, headers=headers, keys=keys)
    try:
        payload = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WebhookRejected("body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRejected("body is not a JSON object")
    timestamp = _parse_timestamp(payload.get("timestamp"))
    if abs(now - timestamp) > FRESHNESS:
        raise WebhookRejected("timestamp is more than 5 minutes from now")
    webhook_id = payload.get("webhookId")
    if not isinstance(webhook_id, str) or not webhook_id:
        raise WebhookRejected("webhookId is missing")
    return VerifiedWebhook(
        payload=payload,
        webhook_id=webhook_id,
        event_type=str(payload.get("type") or ""),
        location_id=str(payload.get("locationId") or ""),
        timestamp=timestamp,
        scheme=scheme,
    )
