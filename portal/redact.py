"""Strip secrets before anything is written to the sync log, a log line or an error message.

Two nets, used together everywhere: keys whose name looks secret (``authToken``,
``authenticationValue``, ``x-api-key``, any ``*token*``, ``*secret*``, ``*password*`` ...), and the
values of every secret the portal holds for the connection concerned (its access and refresh
tokens, its app's client secret), wherever they appear, under any key or inside free text.
"""

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portal.crypto import SecretUnreadable

# A key is secret when its name, lower-cased without '-' and '_', contains one of these parts...
SECRET_KEY_PARTS = (
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "apikey",
    "authorization",
    "authentication",
    "credential",
    "privatekey",
    "codeverifier",
    "cookie",
)
# ...or is one of these (too short to look for inside longer names).
SECRET_KEYS = {"code", "auth", "pin", "otp", "sig", "jwt", "bearer", "session", "sessionid"}
MASK = "***"
MIN_SECRET_CHARS = 6  # shorter "secrets" would mask ordinary words

_KEY_TEXT = (
    r"[A-Za-z0-9_.-]*(?:"
    + "|".join("[-_]?".join(map(re.escape, p)) for p in SECRET_KEY_PARTS)
    + r")[A-Za-z0-9_.-]*|"
    + "|".join(sorted(SECRET_KEYS, key=len, reverse=True))
)
# key=value, key: value, "key": "value" (query strings, form bodies, JSON fragments, error texts)
_SECRET_PAIR = re.compile(r"""(?i)(\b(?:%s)\b["']?\s*[:=]\s*["']?)([^"'&\s,;}]+)""" % _KEY_TEXT)
_BEARER = re.compile(r"(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{6,}")


def is_secret_key(key: object) -> bool:
    name = re.sub(r"[-_\s]", "", str(key).lower())
    return name in SECRET_KEYS or any(part in name for part in SECRET_KEY_PARTS)


_is_secret_key = is_secret_key  # the name older callers use


def secret_variants(secrets: Iterable[str] | None) -> list[str]:
    """Each secret as it may appear: raw, URL-encoded (both ways) and JSON-escaped; longest first."""
    found: set[str] = set()
    for secret in secrets or ():
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_CHARS:
            continue
        found.update({secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]})
    return sorted(found, key=len, reverse=True)


def path_redact(path: str) -> str:
    """``/contacts/?locationId=x&access_token=y`` -> ``/contacts/?locationId=x&access_token=***``."""
    parts = urlsplit(path)
    if not parts.query:
        return path
    query = [
        (k, MASK if is_secret_key(k) else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*/")))


def value_redact(value: Any, *, secrets: Iterable[str] = ()) -> Any:
    """Deep copy of ``value`` with secret-named keys masked and known secret strings removed."""
    if isinstance(value, dict):
        return {
            k: (MASK if is_secret_key(k) else value_redact(v, secrets=secrets))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [value_redact(v, secrets=secrets) for v in value]
    if isinstance(value, str):
        return text_redact(value, secrets=secrets)
    return value


def text_redact(text: str, *, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secret values (in any of their encodings)."""
    for secret in secret_variants(secrets):
        text = text.replace(secret, MASK)
    return text


def text_mask(text: str, *, secrets: Iterable[str] = ()) -> str:
    """Free text masked by value, then by pattern: bearer tokens and secret ``key=value`` pairs."""
    text = text_redact(text or "", secrets=secrets)
    text = _BEARER.sub(lambda m: m[1] + MASK, text)
    return _SECRET_PAIR.sub(lambda m: m[1] + MASK, text)


def connection_secrets(connection: Any) -> tuple[str, ...]:
    """Every secret the portal holds for ``connection``: its tokens and its app's client secret."""
    if connection is None:
        return ()
    found: list[str] = []
    for owner, name in (
        (connection, "access_token"),
        (connection, "refresh_token"),
        (getattr(connection, "app", None), "client_secret"),
    ):
        try:
            value = getattr(owner, name, "") if owner is not None else ""
        except (SecretUnreadable, ImproperlyConfigured):  # an unreadable secret cannot leak either
            value = ""
        if value:
            found.append(value)
    return tuple(found)


def summary_make(*, body: object, secrets: Iterable[str] = (), limit: int | None = None) -> str:
    """A size-capped, redacted one-string summary of a request or response body."""
    limit = limit or settings.GHL_SYNC_LOG_SUMMARY_CHARS
    if body is None or body == b"" or body == "":
        return ""
    if isinstance(body, bytes):
        raw = body
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
    if isinstance(body, (dict, list)):
        text = json.dumps(value_redact(body, secrets=secrets), ensure_ascii=False, default=str)
    else:
        text = text_redact(str(body), secrets=secrets)
        # A form-encoded body (the token endpoint): mask its secret fields too.
        if "=" in text and " " not in text.strip():
            try:
                pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
                text = urlencode(
                    [(k, MASK if is_secret_key(k) else v) for k, v in pairs], safe="*/"
                )
            except ValueError:
                pass
        text = text_mask(text)
    if len(text) > limit:
        text = text[:limit] + f"… [{len(text) - limit} more characters]"
    return text
