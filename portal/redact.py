"""Strip secrets before anything is written to the sync log, a log line or an error message.

Personal data (people's names, e-mail addresses, phone numbers) is masked as well where a body is
kept (the sync log's failures and sampled successes): by key, the personal fields the entity
definitions declare (``mappings/entities``, registered at start-up through
:func:`personal_keys_register`, since this layer imports no entity), and by pattern, e-mail
addresses and ``+``-prefixed phone numbers inside any string.

Two nets, used together everywhere: keys whose name looks secret (``authToken``,
``authenticationValue``, ``x-api-key``, any ``*token*``, ``*secret*``, ``*password*`` ...), and the
values of every secret the portal holds for the connection concerned (its access and refresh
tokens, its app's client secret), wherever they appear, under any key or inside free text.
"""

import functools
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
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# International numbers as HighLevel stores them (+15550100123, +44 20 7946 0000, +1 (555) ...).
_PHONE = re.compile(r"\+\d[\d\s().-]{5,}\d")
# Key names (lower-cased, without '-' and '_') the entity definitions declare personal.
_PERSONAL_KEYS: set[str] = set()
_BEARER = re.compile(r"(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{6,}")


def is_secret_key(key: object) -> bool:
    name = re.sub(r"[-_\s]", "", str(key).lower())
    return name in SECRET_KEYS or any(part in name for part in SECRET_KEY_PARTS)


_is_secret_key = is_secret_key  # the name older callers use


def secret_variants(secrets: Iterable[str] | None) -> tuple[str, ...]:
    """Each secret as it may appear: raw, URL-encoded (both ways) and JSON-escaped; longest first."""
    return _variants(tuple(s for s in secrets or () if isinstance(s, str)))


@functools.lru_cache(maxsize=256)
def _variants(secrets: tuple[str, ...]) -> tuple[str, ...]:
    # Asked once per cell or string of a body (an export asks it for each of its millions of
    # cells, with the same few secrets): computed once per set of secrets.
    found: set[str] = set()
    for secret in secrets:
        if len(secret) < MIN_SECRET_CHARS:
            continue
        found.update({secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]})
    return tuple(sorted(found, key=len, reverse=True))


def path_redact(path: str, *, personal: bool = False) -> str:
    """``/contacts/?locationId=x&access_token=y`` -> ``/contacts/?locationId=x&access_token=***``.

    With ``personal``, query values of personal fields, e-mail addresses and phone numbers too.
    """
    parts = urlsplit(path)
    if not parts.query:
        return path
    query = [
        (
            k,
            MASK
            if is_secret_key(k) or (personal and is_personal_key(k) and v)
            else (text_personal_mask(v) if personal else v),
        )
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*/")))


def _key_name(key: object) -> str:
    return re.sub(r"[-_\s]", "", str(key).lower())


def personal_keys_register(keys: Iterable[str]) -> None:
    """Declare field names that hold personal data (the entities' ``personal_fields``)."""
    _PERSONAL_KEYS.update(_key_name(k) for k in keys if k)


def is_personal_key(key: object) -> bool:
    return _key_name(key) in _PERSONAL_KEYS


def text_personal_mask(text: str) -> str:
    """``text`` with e-mail addresses and international phone numbers replaced by ``***``."""
    if "@" in text:
        text = _EMAIL.sub(MASK, text)
    if "+" in text:
        text = _PHONE.sub(MASK, text)
    return text


def value_redact(value: Any, *, secrets: Iterable[str] = (), personal: bool = False) -> Any:
    """Deep copy of ``value`` with secret-named keys masked and known secret strings removed;
    with ``personal``, personal fields masked too (by key and, in every string, by pattern)."""
    if isinstance(value, dict):
        return {
            k: (
                MASK
                if is_secret_key(k) or (personal and is_personal_key(k) and v not in (None, ""))
                else value_redact(v, secrets=secrets, personal=personal)
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [value_redact(v, secrets=secrets, personal=personal) for v in value]
    if isinstance(value, str):
        text = text_redact(value, secrets=secrets)
        return text_personal_mask(text) if personal else text
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


def summary_make(
    *,
    body: object,
    secrets: Iterable[str] = (),
    limit: int | None = None,
    personal: bool = False,
) -> str:
    """A size-capped, redacted one-string summary of a request or response body (``personal``:
    personal data masked too, see :func:`value_redact`)."""
    limit = limit or settings.GHL_SYNC_LOG_SUMMARY_CHARS
    if body is None or body == b"" or body == "":
        return ""
    if isinstance(body, bytes):
        raw = body
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
    more = ""
    if isinstance(body, (dict, list)):
        text, more = _json_summary(body, secrets=secrets, personal=personal, limit=limit)
    else:
        text = text_redact(str(body), secrets=secrets)
        # A form-encoded body (the token endpoint): mask its secret fields too.
        if "=" in text and " " not in text.strip():
            try:
                pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
                text = urlencode(
                    [
                        (k, MASK if is_secret_key(k) or (personal and is_personal_key(k)) else v)
                        for k, v in pairs
                    ],
                    safe="*/",
                )
            except ValueError:
                pass
        text = text_mask(text)
        if personal:
            text = text_personal_mask(text)
    if more:
        return text[:limit] + more
    if len(text) > limit:
        text = text[:limit] + f"… [{len(text) - limit} more characters]"
    return text


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _json_summary(
    body: dict[str, Any] | list[Any], *, secrets: Iterable[str], personal: bool, limit: int
) -> tuple[str, str]:
    """The redacted JSON text of ``body`` and, when only its start was redacted, the note on
    what was cut ("" when the text is whole). Only what the summary keeps is redacted: a page of
    a hundred records is cut a few items past ``limit`` characters before redaction (the text up
    to the cut's closing brackets is the whole body's, character for character), and redacted
    whole when the cut falls within the first ``limit`` characters after all."""
    cut, closers = _json_cut(body, 4 * limit)
    if closers:
        text = _json_dumps(value_redact(cut, secrets=secrets, personal=personal))
        if len(text) - closers > limit:
            rest = len(_json_dumps(body)) - len(_json_dumps(cut)) + len(text) - limit
            return text, f"… [about {rest} more characters]"
    return _json_dumps(value_redact(body, secrets=secrets, personal=personal)), ""


def _json_cut(value: Any, budget: int) -> tuple[Any, int]:
    """``value`` with its lists and objects ended at the first item past ``budget`` characters
    of JSON, and how many of them were ended (the closing brackets its JSON ends with that the
    whole value's has not): ``(value, 0)`` when nothing is cut."""
    if not isinstance(value, (dict, list)):
        return value, 0
    used, inner, whole = 0, 0, True
    items = enumerate(value) if isinstance(value, list) else value.items()
    kept: dict[Any, Any] = {}
    for key, item in items:
        if used > budget:
            whole = False
            break
        part, inner = _json_cut(item, budget - used)
        whole = whole and not inner
        kept[key] = part
        used += len(_json_dumps(part)) + 2 + (0 if isinstance(value, list) else len(str(key)) + 4)
    if whole:
        return value, 0
    # The JSON of what is kept leaves the whole value's after the last kept item's own cut
    # (its closing brackets), or right after that item: this one's bracket follows either way.
    return (list(kept.values()) if isinstance(value, list) else kept), inner + 1
