"""Strip secrets before anything is written to the sync log, a log line or an error message."""

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings

SECRET_KEYS = {
    "access_token", "accesstoken", "refresh_token", "refreshtoken", "client_secret",
    "clientsecret", "code", "code_verifier", "token", "api_key", "apikey", "password",
    "authorization", "secret", "private_token", "id_token", "x_api_key",
}
MASK = "***"


def _is_secret_key(key: object) -> bool:
    return str(key).lower().replace("-", "_") in SECRET_KEYS


def path_redact(path: str) -> str:
    """``/contacts/?locationId=x&access_token=y`` -> ``/contacts/?locationId=x&access_token=***``."""
    parts = urlsplit(path)
    if not parts.query:
        return path
    query = [(k, MASK if _is_secret_key(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*/")))


def value_redact(value: Any, *, secrets: Iterable[str] = ()) -> Any:
    """Deep copy of ``value`` with secret-named keys masked and known secret strings removed."""
    if isinstance(value, dict):
        return {k: (MASK if _is_secret_key(k) else value_redact(v, secrets=secrets)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [value_redact(v, secrets=secrets) for v in value]
    if isinstance(value, str):
        return text_redact(value, secrets=secrets)
    return value


def text_redact(text: str, *, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, MASK)
    return text


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
                text = urlencode([(k, MASK if _is_secret_key(k) else v) for k, v in pairs], safe="*/")
            except ValueError:
                pass
    if len(text) > limit:
        text = text[:limit] + f"… [{len(text) - limit} more characters]"
    return text
