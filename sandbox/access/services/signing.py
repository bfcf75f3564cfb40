"""The sandbox's webhook signing keys: generated once, private halves encrypted at rest.

HighLevel signs the raw request body twice (docs/oauth/WebhookAuthentication.md):
``x-wh-signature`` is RSA PKCS#1 v1.5 over SHA-256 and ``x-ghl-signature`` is Ed25519, both
base64-encoded. Receivers verify against the public halves at ``/sandbox/webhook-keys``.
"""

import base64
import threading

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from django.db import IntegrityError, transaction

from sandbox.access.models import WebhookKey
from sandbox.access.services.secrets import secret_decrypt, secret_encrypt

RSA_BITS = 4096  # the size of HighLevel's published key
_cache: dict = {}
_cache_lock = threading.Lock()


def _generate(kind: str):
    if kind == WebhookKey.RSA:
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    return ed25519.Ed25519PrivateKey.generate()


def _key_ensure(kind: str) -> WebhookKey:
    key = WebhookKey.objects.filter(kind=kind).first()
    if key is not None:
        return key
    private = _generate(kind)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        with transaction.atomic():
            return WebhookKey.objects.create(
                kind=kind,
                public_pem=public_pem,
                private_encrypted=secret_encrypt(value=private_pem),
            )
    except IntegrityError:  # another process generated it first: use theirs
        return WebhookKey.objects.get(kind=kind)


def webhook_public_keys() -> dict[str, str]:
    """Public PEMs by kind (``ed25519``, ``rsa``), generating the keys on first use."""
    return {kind: _key_ensure(kind).public_pem for kind, _ in WebhookKey.KINDS}


def _private(kind: str):
    key = _key_ensure(kind)
    with _cache_lock:
        cached = _cache.get(kind)
        if cached and cached[0] == key.public_pem:
            return cached[1]
        private = serialization.load_pem_private_key(
            secret_decrypt(value=key.private_encrypted), password=None
        )
        _cache[kind] = (key.public_pem, private)
        return private


def webhook_sign(*, body: bytes) -> dict[str, str]:
    """The two signature headers for ``body`` (the exact bytes sent)."""
    rsa_sig = _private(WebhookKey.RSA).sign(body, padding.PKCS1v15(), hashes.SHA256())
    ed_sig = _private(WebhookKey.ED25519).sign(body)
    return {
        "x-wh-signature": base64.b64encode(rsa_sig).decode(),
        "x-ghl-signature": base64.b64encode(ed_sig).decode(),
    }
