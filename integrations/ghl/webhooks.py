"""Verification of HighLevel's webhooks: signature on the raw body, freshness, and shape.

HighLevel signs the raw request body twice: `x-ghl-signature` (Ed25519, the scheme it keeps after
July 2026) and the legacy `x-wh-signature` (RSA PKCS#1 v1.5 with SHA-256), both base64. The body
must be verified as received: re-serialising the parsed JSON changes the bytes.
See specs/highlevel/docs/oauth/WebhookAuthentication.md.
"""

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

ED25519_HEADER = "x-ghl-signature"
RSA_HEADER = "x-wh-signature"
FRESHNESS = timedelta(minutes=5)

# HighLevel's published RSA key for `x-wh-signature` (WebhookAuthentication.md).
HIGHLEVEL_RSA_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAokvo/r9tVgcfZ5DysOSC
Frm602qYV0MaAiNnX9O8KxMbiyRKWeL9JpCpVpt4XHIcBOK4u3cLSqJGOLaPuXw6
dO0t6Q/ZVdAV5Phz+ZtzPL16iCGeK9po6D6JHBpbi989mmzMryUnQJezlYJ3DVfB
csedpinheNnyYeFXolrJvcsjDtfAeRx5ByHQmTnSdFUzuAnC9/GepgLT9SM4nCpv
uxmZMxrJt5Rw+VUaQ9B8JSvbMPpez4peKaJPZHBbU3OdeCVx5klVXXZQGNHOs8gF
3kvoV5rTnXV0IknLBXlcKKAQLZcY/Q9rG6Ifi9c+5vqlvHPCUJFT5XUGG5RKgOKU
J062fRtN+rLYZUV+BjafxQauvC8wSWeYja63VSUruvmNj8xkx2zE/Juc+yjLjTXp
IocmaiFeAO6fUtNjDeFVkhf5LNb59vECyrHD2SQIrhgXpO4Q3dVNA5rw576PwTzN
h/AMfHKIjE4xQA1SZuYJmNnmVZLIZBlQAF9Ntd03rfadZ+yDiOXCCs9FkHibELhC
HULgCsnuDJHcrGNd5/Ddm5hxGQ0ASitgHeMZ0kcIOwKDOzOU53lDza6/Y09T7sYJ
PQe7z0cvj7aE4B+Ax1ZoZGPzpJlZtGXCsu9aTEGEnKzmsFqwcSsnw3JB31IGKAyk
T1hhTiaCeIY/OwwwNUY2yvcCAwEAAQ==
-----END PUBLIC KEY-----
"""


class WebhookRejected(Exception):
    """The request is not an authentic, fresh HighLevel webhook. `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebhookKeys:
    """Public keys (PEM) that may sign webhooks; either may be absent."""

    ed25519_pem: str = ""
    rsa_pem: str = ""


@dataclass(frozen=True)
class VerifiedWebhook:
    payload: dict[str, Any]
    webhook_id: str
    event_type: str
    location_id: str
    timestamp: datetime
    scheme: str


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


def webhook_signature_verify(*, raw_body: bytes, headers: Mapping[str, str], keys: WebhookKeys) -> str:
    """Check the raw body's signature; return the scheme that verified ("ed25519" or "rsa").

    Ed25519 is preferred when both headers and keys are present. A present but wrong signature is
    rejected even if the other scheme would pass: a forged header is never ignored.
    """
    ed_sig = headers.get(ED25519_HEADER, "")
    rsa_sig = headers.get(RSA_HEADER, "")
    if not ed_sig and not rsa_sig:
        raise WebhookRejected("no signature header (x-ghl-signature or x-wh-signature)")
    verified = None
    if ed_sig and keys.ed25519_pem:
        ed_key = _load_key(keys.ed25519_pem, "Ed25519")
        if not isinstance(ed_key, ed25519.Ed25519PublicKey):
            raise _wrong_key("Ed25519")
        try:
            ed_key.verify(_decode_signature(ed_sig, ED25519_HEADER), raw_body)
        except InvalidSignature:
            raise WebhookRejected("x-ghl-signature does not match the body") from None
        verified = "ed25519"
    if rsa_sig and keys.rsa_pem:
        rsa_key = _load_key(keys.rsa_pem, "RSA")
        if not isinstance(rsa_key, rsa.RSAPublicKey):
            raise _wrong_key("RSA")
        try:
            rsa_key.verify(
                _decode_signature(rsa_sig, RSA_HEADER), raw_body, padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            raise WebhookRejected("x-wh-signature does not match the body") from None
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


def webhook_verify(*, raw_body: bytes, headers: Mapping[str, str], keys: WebhookKeys,
                   now: datetime) -> VerifiedWebhook:
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
