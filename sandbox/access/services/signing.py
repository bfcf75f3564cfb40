"""The sandbox's webhook signing keys: generated once, private halves encrypted at rest.

HighLevel signs the raw request body twice (docs/oauth/WebhookAuthentication.md):
``x-wh-signature`` is RSA PKCS#1 v1.5 over SHA-256 and ``x-ghl-signature`` is Ed25519, both
base64-encoded. Receivers verify against the public halves at ``/sandbox/webhook-keys``.

Rotation (the same page announces that HighLevel rotates its key): :func:`webhook_key_announce`
publishes a next key beside the current one, :func:`webhook_key_promote` makes it sign (the old
key stays published as *previous*), :func:`webhook_keys_retire` removes the previous keys. A
receiver verifying against every published key (``ed25519_keys``, ``rsa_keys``) drops no event.
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


class KeyRotationRefused(Exception):
    """A rotation step that cannot be taken now (e.g. promoting with no next key announced)."""


def _key_create(kind: str, state: str) -> WebhookKey:
    private = _generate(kind)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return WebhookKey.objects.create(
        kind=kind,
        state=state,
        public_pem=public_pem,
        private_encrypted=secret_encrypt(value=private_pem),
    )


def _key_ensure(kind: str) -> WebhookKey:
    """The current key of ``kind``, generated on first use."""
    key = WebhookKey.objects.filter(kind=kind, state=WebhookKey.CURRENT).first()
    if key is not None:
        return key
    try:
        with transaction.atomic():
            return _key_create(kind, WebhookKey.CURRENT)
    except IntegrityError:  # another process generated it first: use theirs
        return WebhookKey.objects.get(kind=kind, state=WebhookKey.CURRENT)


def webhook_public_keys() -> dict[str, object]:
    """What ``/sandbox/webhook-keys`` publishes: the current public PEM by kind (``ed25519``,
    ``rsa``) and, per kind, every key a receiver should accept (``ed25519_keys``, ``rsa_keys``:
    current, then next, then previous), generating the current keys on first use."""
    published: dict[str, object] = {}
    order = {WebhookKey.CURRENT: 0, WebhookKey.NEXT: 1, WebhookKey.PREVIOUS: 2}
    for kind, _ in WebhookKey.KINDS:
        published[kind] = _key_ensure(kind).public_pem
        keys = sorted(WebhookKey.objects.filter(kind=kind), key=lambda k: (order[k.state], -k.pk))
        published[f"{kind}_keys"] = [k.public_pem for k in keys]
    return published


def _kinds(kind: str | None) -> list[str]:
    kinds = [k for k, _ in WebhookKey.KINDS]
    if kind is None:
        return kinds
    if kind not in kinds:
        raise KeyRotationRefused(f"No key kind {kind!r}; try ed25519 or rsa")
    return [kind]


def webhook_key_announce(*, kind: str | None = None) -> list[WebhookKey]:
    """Publish a next key (per kind, or for ``kind`` only) beside the current one; signing does
    not change yet. A next key already announced is kept."""
    announced = []
    for each in _kinds(kind):
        _key_ensure(each)
        with transaction.atomic():
            key = (
                WebhookKey.objects.select_for_update()
                .filter(kind=each, state=WebhookKey.NEXT)
                .first()
            )
            announced.append(key or _key_create(each, WebhookKey.NEXT))
    return announced


@transaction.atomic
def webhook_key_promote(*, kind: str | None = None) -> list[WebhookKey]:
    """Sign with the announced next key; the current one becomes *previous* (still published)."""
    kinds = _kinds(kind)
    keys = list(WebhookKey.objects.select_for_update().filter(kind__in=kinds))
    promoted = []
    for each in kinds:
        following = [k for k in keys if k.kind == each and k.state == WebhookKey.NEXT]
        if not following:
            raise KeyRotationRefused(f"No next {each} key announced: announce one first")
        WebhookKey.objects.filter(kind=each, state=WebhookKey.CURRENT).update(
            state=WebhookKey.PREVIOUS
        )
        WebhookKey.objects.filter(pk=following[0].pk).update(state=WebhookKey.CURRENT)
        promoted.append(WebhookKey.objects.get(pk=following[0].pk))
    return promoted


def webhook_keys_retire(*, kind: str | None = None) -> int:
    """Remove the previous keys (per kind, or of ``kind``): they stop being published."""
    deleted, _ = WebhookKey.objects.filter(
        kind__in=_kinds(kind), state=WebhookKey.PREVIOUS
    ).delete()
    return deleted


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
