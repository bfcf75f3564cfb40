"""Rankr field limits, checked before the database: length and type, with a per-rule policy.

A HighLevel → Rankr rule may say what to do with a value its Rankr field cannot hold
(``"invalid"`` in the rule): ``refuse`` (the default) sets the record aside in quarantine with the
rule, field, value and reason; ``truncate`` stores what fits and marks the cut: over-long text is
cut and ends with ``…``, a value of the wrong type is stored as its text (cut to fit), or left
empty where the field holds no text (a date, a number).

The limits are the Rankr model fields' own (``max_length``, ``max_digits``, the type), so
PostgreSQL's ``value too long for type character varying(200)`` is caught here, and SQLite, which
does not enforce lengths, stores the same as PostgreSQL.
"""

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils.dateparse import parse_datetime

from portal.errors import PortalError

REFUSE = "refuse"
TRUNCATE = "truncate"
POLICIES = [
    (REFUSE, "Refuse: quarantine the record"),
    (TRUNCATE, "Truncate: store what fits, marked with …"),
]
MARKER = "…"
_TEXT = (models.CharField, models.TextField)


class LimitError(PortalError, ValueError):
    """The value does not fit the Rankr field (refused); the message says how. Permanent: the
    same record fails the same way until the mapping or HighLevel's data changes."""


def rankr_field(model: type[models.Model], name: str) -> "models.Field[Any, Any]":
    """The model's own field ``name`` (a mapping targets fields, never reverse relations)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise FieldDoesNotExist(f"{model.__name__}.{name} is a reverse relation, not a field")
    return field


def _cut(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - len(MARKER), 0)] + MARKER


def _describe(value: object) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def value_fit(*, field: "models.Field[Any, Any]", value: Any, policy: str = REFUSE) -> Any:
    """``value`` as ``field`` can store it, or :class:`LimitError` (policy ``refuse``)."""
    truncate = policy == TRUNCATE
    if value is None:
        return value
    if isinstance(field, _TEXT):
        if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
            if not truncate:
                raise LimitError(f"expected text, got {_describe(value)}")
            value = json.dumps(value, ensure_ascii=False, default=str)
        text = value if isinstance(value, str) else str(value)
        limit = field.max_length
        if limit is not None and len(text) > limit and not truncate:
            raise LimitError(f"{len(text)} characters; the field holds at most {limit}")
        return _cut(text, limit)
    if isinstance(field, models.DecimalField):
        try:
            number = Decimal(str(value)) if not isinstance(value, bool) else None
            if number is None or not number.is_finite():
                raise InvalidOperation
            field.clean(number, None)
            return number
        except (InvalidOperation, ValidationError):
            if truncate:
                return None if field.null else field.get_default()
            raise LimitError(
                f"{value!r} is not a number of at most {field.max_digits} digits "
                f"({field.decimal_places} after the point)"
            ) from None
    if isinstance(field, models.DateTimeField):
        if isinstance(value, datetime):
            return value
        parsed = parse_datetime(value.replace("Z", "+00:00")) if isinstance(value, str) else None
        if parsed is None:
            if truncate:
                return None if field.null else field.get_default()
            raise LimitError(f"{str(value)[:60]!r} is not a date and time")
        return parsed
    if isinstance(field, models.JSONField):
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise LimitError(f"{_describe(value)} cannot be stored as JSON") from None
    return value


def value_kept(field: "models.Field[Any, Any]") -> "Callable[[Any], bool]":
    """A quick test of values :func:`value_fit` gives back as they are, under any policy (text that
    fits a text field, a list of texts for a JSON field); False means "ask value_fit"."""
    if isinstance(field, _TEXT):
        limit = field.max_length
        if limit is None:
            return lambda value: type(value) is str
        return lambda value: type(value) is str and len(value) <= limit
    if isinstance(field, models.JSONField):
        # json.dumps takes any text: a list of texts is stored as it is.
        return lambda value: type(value) is list and all(type(item) is str for item in value)
    return lambda value: value is None
