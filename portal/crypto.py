"""Secrets at rest: MultiFernet over ``settings.ENCRYPTION_KEYS`` (newest first).

Encryption always uses the newest key; decryption tries every key. A value no key can open raises
:class:`SecretUnreadable` -- it is never handed back as if the ciphertext were the secret.
Keys come from the environment only, never from SECRET_KEY.
"""

import functools
from typing import Any, overload

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portal.errors import PortalError


class SecretUnreadable(PortalError):
    """A stored secret cannot be decrypted with any key in ENCRYPTION_KEYS."""


def _fernet() -> MultiFernet:
    keys = settings.ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS is empty: secrets at rest cannot be read or written."
        )
    return MultiFernet([Fernet(key) for key in keys])


def secret_encrypt(*, plaintext: str) -> str:
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode()


@functools.lru_cache(maxsize=512)
def _decrypted(ciphertext: str, keys: tuple[Any, ...]) -> str:
    """The plaintext of ``ciphertext`` under exactly these keys: the door reads the same tokens
    on every request, and Fernet's checks cost more than the request's own bookkeeping. Keyed
    by the keys too, so a key taken out of ENCRYPTION_KEYS opens nothing it encrypted. Memory
    only: nothing decrypted is ever written anywhere."""
    return _fernet().decrypt(ciphertext.encode()).decode()


def secret_decrypt(*, ciphertext: str, label: str = "secret") -> str:
    if not ciphertext:
        return ""
    try:
        return _decrypted(ciphertext, tuple(settings.ENCRYPTION_KEYS or ()))
    except InvalidToken:
        raise SecretUnreadable(
            f"The stored {label} cannot be decrypted with any key in ENCRYPTION_KEYS: the key that "
            "encrypted it is missing (add it back after the new key, then run "
            "`manage.py rotate_encryption_keys`)."
        ) from None


def secret_rotate(*, ciphertext: str, label: str = "secret") -> str:
    """Re-encrypt ``ciphertext`` under the newest key (no plaintext leaves this function)."""
    if not ciphertext:
        return ""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            f"The stored {label} cannot be decrypted with any key in ENCRYPTION_KEYS."
        ) from None


class EncryptedSecret:
    """Model attribute that reads and writes a secret through its ciphertext column.

    ``connection.access_token = "..."`` stores only ciphertext in ``access_token_encrypted``;
    reading decrypts on demand, so list pages never decrypt anything.
    """

    def __init__(self, column: str) -> None:
        self.column = column

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> "EncryptedSecret": ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> str: ...
    def __get__(self, instance: Any, owner: type | None = None) -> "EncryptedSecret | str":
        if instance is None:
            return self
        return secret_decrypt(
            ciphertext=getattr(instance, self.column),
            label=f"{type(instance).__name__}.{self.name} (id {instance.pk})",
        )

    def __set__(self, instance: object, value: str | None) -> None:
        setattr(instance, self.column, secret_encrypt(plaintext=value or ""))
