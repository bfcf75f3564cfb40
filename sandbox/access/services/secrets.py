"""Random secrets, their hashes, and Fernet encryption for the few we must keep readable."""

import hashlib
import secrets

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def secret_new(*, prefix: str, nbytes: int = 32) -> str:
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"


def secret_hash(*, value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _fernet() -> MultiFernet:
    keys = settings.ENCRYPTION_KEYS
    if not keys:
        raise RuntimeError("ENCRYPTION_KEYS is empty: the sandbox cannot store its signing keys.")
    return MultiFernet([Fernet(key) for key in keys])


def secret_encrypt(*, value: bytes) -> bytes:
    return _fernet().encrypt(value)


def secret_decrypt(*, value: bytes) -> bytes:
    return _fernet().decrypt(bytes(value))
