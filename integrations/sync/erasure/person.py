"""The person being erased, and how their data is found and masked inside a stored value.

A :class:`Person` carries what finds their rows (``needles``: e-mail addresses, phone numbers and
the HighLevel ids of their records, as stored and as a URL encodes them) and what is masked in a
row that mentions them: those, their names, and the value of every key the entity definitions
declare personal (``Entity.personal_fields``, the Rankr models' ``PERSONAL_FIELDS``). A row that
mentions the person loses every personal value it holds, other people's included: a log body
is diagnostic, and masking too much there is the safe side.
"""

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from mappings.entities import entities_all
from rankr.models import RECORD_MODELS

ERASED = "[erased]"


def key_name(key: object) -> str:
    """A key as compared with the personal field names: lower case, no ``-``, ``_`` or spaces."""
    return re.sub(r"[-_\s]", "", str(key).lower())


def personal_keys() -> frozenset[str]:
    """Every field name the entity definitions declare personal (HighLevel's and Rankr's)."""
    names = {name for entity in entities_all().values() for name in entity.personal_fields}
    names |= {name for model in RECORD_MODELS.values() for name in model.PERSONAL_FIELDS}
    return frozenset(key_name(name) for name in names)


def email_normal(email: str) -> str:
    return email.strip().lower()


def phone_normal(phone: str) -> str:
    """``+1 (415) 555-0100`` -> ``+14155550100``; empty when it holds fewer than 5 digits."""
    digits = re.sub(r"\D", "", phone)
    return f"+{digits}" if len(digits) >= 5 else ""


def _phone_pattern(phone: str) -> str:
    # The national part's digits with any separators between them, so "+1 415-555-0100",
    # "(415) 555 0100" and "4155550100" all match a stored +14155550100.
    digits = phone.lstrip("+")
    national = digits[-10:] if len(digits) > 10 else digits
    return r"(?:\+?\d{0,3}[\s().-]*)?" + r"[\s().-]*".join(national)


@dataclass(frozen=True)
class Person:
    location_id: int
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # normalised, +digits
    names: tuple[str, ...] = ()
    # Rankr kind -> HighLevel ids of the person's records and of the records under them.
    ghl_ids: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Rankr kind -> primary keys of the same records.
    record_pks: dict[str, tuple[int, ...]] = field(default_factory=dict)
    keys: frozenset[str] = field(default_factory=personal_keys)

    def needles(self) -> list[str]:
        """Strings whose presence says a row is about the person (searched case-insensitively)."""
        found: set[str] = set()
        for email in self.emails:
            found |= {email, quote(email, safe=""), quote_plus(email)}
        for phone in self.phones:
            found |= {phone, phone.lstrip("+"), quote_plus(phone)}
        for ids in self.ghl_ids.values():
            found |= {i for i in ids if i}
        return sorted(found)

    def _pattern(self) -> re.Pattern[str] | None:
        # Addresses and numbers before names, and full names before their parts: at one place
        # the first alternative that matches wins, so "jane.roe@x.org" goes whole, not "jane".
        emails = {v for e in self.emails for v in (e, quote(e, safe=""), quote_plus(e))}
        parts = [re.escape(v) for v in sorted(emails, key=len, reverse=True)]
        parts += [_phone_pattern(phone) for phone in self.phones]
        # A name as a word of its own: not inside an id such as "c-jane".
        names = sorted((n for n in self.names if len(n) >= 2), key=len, reverse=True)
        parts += [rf"(?<![\w-]){re.escape(name)}(?![\w-])" for name in names]
        return re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def text_mask(self, text: str) -> str:
        """``text`` without the person's identifiers and names, nor any personal key's value
        (``"email": "…"``, ``email=…``, as in a cut JSON body or a query string)."""
        if not text:
            return text
        pattern = self._pattern()
        if pattern is not None:
            text = pattern.sub(ERASED, text)
        return _PAIR.sub(
            lambda m: (
                m.group(0)
                if key_name(m.group("key")) not in self.keys
                else f"{m.group('head')}{ERASED}{m.group('tail')}"
            ),
            text,
        )

    def value_mask(self, value: Any) -> Any:
        """A JSON value without the person's data: personal keys' values and identifiers."""
        if isinstance(value, dict):
            return {
                k: ERASED if key_name(k) in self.keys and value_present(v) else self.value_mask(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.value_mask(v) for v in value]
        if isinstance(value, str):
            return self.text_mask(value)
        return value


def value_present(value: Any) -> bool:
    return value not in (None, "", [], {}) and value != ERASED


# "key": "value" (JSON), key=value (query strings, form bodies); the value up to its end quote or
# separator, or to the end of a body cut short. A JSON string value may hold escaped quotes.
_PAIR = re.compile(
    r"""(?P<head>["']?(?P<key>[A-Za-z][\w-]{0,60})["']?\s*[:=]\s*(?P<q>["']?))"""
    r"""(?:(?<=")(?:[^"\\]|\\.)+|(?<=')[^']+|(?<![\"'])[^"'&\s,;{}\[\]]+)(?P<tail>(?P=q)|\Z)"""
)
