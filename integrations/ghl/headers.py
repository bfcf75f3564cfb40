"""HTTP header names lower-cased once per answer, for every reader of that answer."""

from collections.abc import Mapping


class LowerHeaders(dict[str, str]):
    """Headers keyed by lower-case name (HTTP names are case-insensitive): built once per
    answer, so the readers after it (trace id, ``Retry-After``, the rate-limit headers, the
    content type) look names up directly instead of each lower-casing every name again."""


def headers_lower(headers: Mapping[str, str]) -> LowerHeaders:
    """``headers`` keyed by lower-case name (as they are when already so)."""
    if isinstance(headers, LowerHeaders):
        return headers
    return LowerHeaders({name.lower(): value for name, value in headers.items()})
