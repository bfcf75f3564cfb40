"""The closed set of transforms a mapping rule may use: pure functions, one explicit registry.

A transform takes the current value and its arguments and returns the new value, or raises
:class:`TransformError` saying what was wrong with the value. Arguments are checked when the
mapping is saved (:func:`transform_args_check`), so a saved mapping never fails on bad arguments,
only on bad data. Nothing here evaluates code from a rule.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

from portal.errors import PortalError

# A transform step's arguments as saved on the rule (JSON: text, numbers, lists, objects).
Args = Mapping[str, Any]


class TransformError(PortalError, ValueError):
    """The value cannot be transformed; the message says why, in terms of the value."""


@dataclass(frozen=True)
class Arg:
    types: tuple[type, ...]
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Transform:
    func: Callable[..., Any]  # (value, **args) -> the new value; arguments differ per transform
    help: str
    args: dict[str, Arg] = field(default_factory=dict)
    # Whether the transform runs on a missing value (None); others leave it to the null policy.
    accepts_null: bool = False
    # Extra argument check beyond types: raises ValueError with a message.
    check: Callable[[Args], None] | None = None
    # Reads naive dates: takes ``assume_tz`` from the location's time zone unless the rule sets it.
    zoned: bool = False


def _text(value: object, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TransformError(f"{name} needs text, got {type(value).__name__} {value!r}")
    return str(value)


# --- text --------------------------------------------------------------------------------------
def trim(value: object) -> str:
    return _text(value, "trim").strip()


def upper(value: object) -> str:
    return _text(value, "upper").upper()


def lower(value: object) -> str:
    return _text(value, "lower").lower()


def title(value: object) -> str:
    return _text(value, "title").title()


def name_split(value: object, *, part: str) -> str:
    """'Ada King Lovelace' -> first 'Ada', last 'King Lovelace'."""
    words = _text(value, "name_split").split()
    if not words:
        return ""
    return words[0] if part == "first" else " ".join(words[1:])


def name_join(value: object, *, separator: str = " ") -> str:
    """['Ada', 'Lovelace'] -> 'Ada Lovelace'; empty parts are left out."""
    if not isinstance(value, (list, tuple)):
        raise TransformError(
            f"name_join needs a list of parts (give the rule several source paths), got {value!r}"
        )
    parts = [_text(p, "name_join").strip() for p in value if p not in (None, "")]
    return separator.join(p for p in parts if p)


# --- phone ----------------------------------------------------------------------------------------
def phone_e164(value: object, *, country: str, strict: bool = False) -> str:
    text = _text(value, "phone_e164").strip()
    ok, result = _phone_e164_cached(text, country, bool(strict))
    if not ok:
        raise TransformError(result)
    return result


@lru_cache(maxsize=4096)
def _phone_e164_cached(text: str, country: str, strict: bool) -> tuple[bool, str]:
    """(True, the E.164 form) or (False, why not): the same number seen again (a retry, a re-apply,
    a contact in several records) is not parsed again. A pure function of its arguments."""
    if not strict:  # possible: a question of the calling code and the number's length only
        parts = _e164_parts(text)
        if parts is not None and _possible_length(parts[0], len(parts[1])):
            return True, text  # already E.164: formatting it gives it back (tests/mappings)
        return _phone_e164_parsed(text, country, strict)
    number = _e164_number(text)
    if number is not None and phonenumbers.is_valid_number(number):
        return True, text
    return _phone_e164_parsed(text, country, strict)


@cache
def _possible_length(code: int, size: int) -> bool:
    """``phonenumbers.is_possible_number`` of any number of calling code ``code`` whose national
    significant number has ``size`` digits: it compares only that length with the code's main
    region's possible lengths (tests/mappings/test_phone_fast.py)."""
    return phonenumbers.is_possible_number(
        phonenumbers.PhoneNumber(country_code=code, national_number=int("1" * size))
    )


def _phone_e164_parsed(text: str, country: str, strict: bool) -> tuple[bool, str]:
    """The general path: ``phonenumbers.parse`` reads any way of writing a number."""
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException as exc:
        return False, f"{text!r} is not a phone number ({exc._msg})"
    ok = phonenumbers.is_valid_number(number) if strict else phonenumbers.is_possible_number(number)
    if not ok:
        return False, (
            f"{text!r} is not a {'valid' if strict else 'possible'} phone number "
            f"for default country {country}"
        )
    return True, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_E164_TEXT = re.compile(r"\+[1-9][0-9]{2,19}")  # ASCII digits only, as E.164 writes them


def _e164_number(text: str) -> phonenumbers.PhoneNumber | None:
    """What ``phonenumbers.parse`` makes of text already written in E.164 (``+`` and digits, no
    national prefix to strip), without its general-purpose normalising; None for any other text
    (the caller parses it). Equal to ``parse(text, any region)`` whenever not None, and its E.164
    form is ``text`` itself (both proven over many numbers in tests/mappings/test_phone_fast.py).
    """
    parts = _e164_parts(text)
    if parts is None:
        return None
    code, national = parts
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    if national[0] == "0":  # parse keeps leading zeros ("Italian leading zero")
        number.italian_leading_zero = True
        zeros = len(national) - len(national.lstrip("0"))
        zeros = min(zeros, len(national) - 1)  # an all-zero number keeps its last 0 as the number
        if zeros != 1:
            number.number_of_leading_zeros = zeros
    return number


def _e164_parts(text: str) -> tuple[int, str] | None:
    """(calling code, national significant number's digits) of text :func:`_e164_number` reads
    (its national significant number is those digits); None where it reads nothing."""
    if not _E164_TEXT.fullmatch(text):
        return None
    digits = text[1:]
    for size in (1, 2, 3):  # parse: the shortest known calling code
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if not 2 <= len(national) <= 17:  # parse: too short / too long
        return None
    prefix = _national_prefix(code)
    if prefix is None or prefix.match(national):
        return None  # parse may strip a national prefix here: let it decide
    return code, national


@cache
def _national_prefix(code: int) -> re.Pattern[str] | None:
    """The calling code's national-prefix pattern (never matches where there is none); None
    when phonenumbers has no metadata for the code."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(
        code, phonenumbers.region_code_for_country_code(code)
    )
    if metadata is None:
        return None
    return re.compile(metadata.national_prefix_for_parsing or r"(?!)")


def _country_check(args: Args) -> None:
    country = args["country"]
    if country not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"country {country!r} is not a two-letter region code phonenumbers knows")


# --- dates and time zones ---------------------------------------------------------------------
_EPOCH_MS = re.compile(r"^-?\d{10,}$")


def _zone(name: str) -> tzinfo:
    if name == "UTC":
        return UTC
    return ZoneInfo(name)


def _to_datetime(value: object, assume_tz: str = "UTC") -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)  # noqa: DTZ001 (assume_tz applies below)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)
    elif isinstance(value, str) and _EPOCH_MS.match(value.strip()):
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(value))
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise TransformError(
                f"{value!r} is neither an ISO 8601 date/time nor epoch milliseconds"
            ) from None
    else:
        raise TransformError(f"{value!r} is not a date or time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(assume_tz))
    return moment


def datetime_parse(value: object, *, assume_tz: str = "UTC") -> datetime:
    """ISO 8601 text or epoch milliseconds -> an aware datetime (naive ones are in assume_tz)."""
    return _to_datetime(value, assume_tz)


def tz_convert(value: object, *, tz: str, assume_tz: str = "UTC") -> datetime:
    return _to_datetime(value, assume_tz).astimezone(_zone(tz))


def datetime_format(value: object, *, format: str = "iso", assume_tz: str = "UTC") -> str | int:
    """'iso' (2024-05-01T09:30:00+00:00), 'date' (2024-05-01), 'epoch_ms', or a strftime pattern."""
    moment = _to_datetime(value, assume_tz)
    if format == "iso":
        return moment.isoformat()
    if format == "date":
        return moment.date().isoformat()
    if format == "epoch_ms":
        return int(moment.timestamp() * 1000)
    return moment.strftime(format)


def _tz_check(args: Args) -> None:
    for key in ("tz", "assume_tz"):
        if key in args:
            try:
                _zone(args[key])
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{key} {args[key]!r} is not an IANA time zone") from None


def _format_check(args: Args) -> None:
    fmt = args.get("format", "iso")
    if fmt not in ("iso", "date", "epoch_ms") and "%" not in fmt:
        raise ValueError(f"format {fmt!r} is not iso, date, epoch_ms or a strftime pattern")


def _format_tz_check(args: Args) -> None:
    _format_check(args)
    _tz_check(args)


# --- values ---------------------------------------------------------------------------------------
def _map_key(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_NO_FALLBACK = object()


def value_map(value: object, *, values: Mapping[str, Any], otherwise: Any = _NO_FALLBACK) -> Any:
    """Look the value up in ``values`` (keys are text: true/false for booleans)."""
    if not isinstance(value, (str, int, float, bool)):
        raise TransformError(f"value_map needs a single value, got {value!r}")
    key = _map_key(value)
    if key in values:
        return values[key]
    if otherwise is not _NO_FALLBACK:
        return otherwise
    raise TransformError(f"{value!r} is not in the value map ({', '.join(map(repr, values))})")


def default(value: Any, *, value_if_empty: Any) -> Any:
    return value_if_empty if value in (None, "", []) else value


# --- custom fields ------------------------------------------------------------------------------
def custom_field(value: object, *, id: str = "", key: str = "") -> Any:
    """Pick one custom field's value from a HighLevel record's custom fields.

    Accepts ``customFields: [{"id", "value"}]`` (items may also carry ``key``/``fieldKey`` and
    ``field_value``) and the older ``customField: {id_or_key: value}`` form. None if absent.
    """
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(id or key)
    if not isinstance(value, list):
        raise TransformError(f"custom fields must be a list or an object, got {value!r}")
    for item in value:
        if not isinstance(item, dict):
            raise TransformError(f"custom field entry {item!r} is not an object")
        if (id and item.get("id") == id) or (
            key and key in (item.get("key"), item.get("fieldKey"))
        ):
            return item.get("value", item.get("field_value"))
    return None


def custom_field_wrap(value: object, *, id: str = "", key: str = "") -> list[dict[str, object]]:
    """A value -> HighLevel's write form ``[{"id" or "key": …, "field_value": value}]``."""
    entry: dict[str, object] = {"id": id} if id else {"key": key}
    entry["field_value"] = value
    return [entry]


def _one_of_id_key(args: Args) -> None:
    if bool(args.get("id")) == bool(args.get("key")):
        raise ValueError("give exactly one of id or key")


# --- tags -----------------------------------------------------------------------------------------
def _tag_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(t, str) for t in value):
        return [t.strip() for t in value if t.strip()]
    raise TransformError(f"tags must be a list of text or comma-separated text, got {value!r}")


def tags_add(value: object, *, tags: list[str]) -> list[str]:
    current = _tag_list(value)
    return current + [t for t in tags if t not in current]


def tags_remove(value: object, *, tags: list[str]) -> list[str]:
    drop = {t.lower() for t in tags}
    return [t for t in _tag_list(value) if t.lower() not in drop]


def tags_replace(value: object, *, tags: list[str]) -> list[str]:
    _tag_list(value)  # still refuse garbage input
    return list(tags)


def _tags_check(args: Args) -> None:
    if not all(isinstance(t, str) and t.strip() for t in args["tags"]):
        raise ValueError("tags must be a list of non-empty text")


TEXT = (str,)
ANY_VALUE = (str, int, float, bool, list, dict, type(None))

# The one registry. Adding a transform means adding it here, with its arguments.
TRANSFORMS = {
    "trim": Transform(trim, "Strip spaces at both ends."),
    "upper": Transform(upper, "UPPER CASE."),
    "lower": Transform(lower, "lower case."),
    "title": Transform(title, "Title Case."),
    "name_split": Transform(
        name_split,
        "Take the first word (part=first) or the rest (part=last) of a full name.",
        {"part": Arg(TEXT, required=True, choices=("first", "last"))},
    ),
    "name_join": Transform(
        name_join,
        "Join several source values (a rule with a list of sources) into one name.",
        {"separator": Arg(TEXT)},
    ),
    "phone_e164": Transform(
        phone_e164,
        "Format a phone number as E.164, reading national numbers in the default country.",
        {"country": Arg(TEXT, required=True), "strict": Arg((bool,))},
        check=_country_check,
    ),
    "datetime_parse": Transform(
        datetime_parse,
        "Read ISO 8601 text or epoch milliseconds; naive times are taken in assume_tz "
        "(default: the location's time zone).",
        {"assume_tz": Arg(TEXT)},
        check=_tz_check,
        zoned=True,
    ),
    "tz_convert": Transform(
        tz_convert,
        "Convert a date/time to the time zone tz (naive ones are in assume_tz, default: the "
        "location's time zone).",
        {"tz": Arg(TEXT, required=True), "assume_tz": Arg(TEXT)},
        check=_tz_check,
        zoned=True,
    ),
    "datetime_format": Transform(
        datetime_format,
        "Format a date/time: iso, date, epoch_ms or a strftime pattern (naive ones are in "
        "assume_tz, default: the location's time zone).",
        {"format": Arg(TEXT), "assume_tz": Arg(TEXT)},
        check=_format_tz_check,
        zoned=True,
    ),
    "value_map": Transform(
        value_map,
        "Replace a value by its entry in values; otherwise is the fallback (else an error).",
        {"values": Arg((dict,), required=True), "otherwise": Arg(ANY_VALUE)},
    ),
    "default": Transform(
        default,
        "Use value_if_empty when the value is missing or empty.",
        {"value_if_empty": Arg(ANY_VALUE, required=True)},
        accepts_null=True,
    ),
    "custom_field": Transform(
        custom_field,
        "Pick a HighLevel custom field's value by id or key from customFields/customField.",
        {"id": Arg(TEXT), "key": Arg(TEXT)},
        accepts_null=True,
        check=_one_of_id_key,
    ),
    "custom_field_wrap": Transform(
        custom_field_wrap,
        "Wrap a value as a HighLevel custom field entry, by id or key.",
        {"id": Arg(TEXT), "key": Arg(TEXT)},
        check=_one_of_id_key,
    ),
    "tags_add": Transform(
        tags_add,
        "Add tags to the list.",
        {"tags": Arg((list,), required=True)},
        accepts_null=True,
        check=_tags_check,
    ),
    "tags_remove": Transform(
        tags_remove,
        "Remove tags from the list (any case).",
        {"tags": Arg((list,), required=True)},
        accepts_null=True,
        check=_tags_check,
    ),
    "tags_replace": Transform(
        tags_replace,
        "Replace the list by tags.",
        {"tags": Arg((list,), required=True)},
        accepts_null=True,
        check=_tags_check,
    ),
}


def transform_args_check(*, name: object, args: object) -> list[str]:
    """Problems with a transform step's name and arguments, as a list of messages."""
    transform = TRANSFORMS.get(name) if isinstance(name, str) else None
    if transform is None:
        return [f"unknown transform {name!r} (known: {', '.join(sorted(TRANSFORMS))})"]
    if not isinstance(args, dict):
        return [f"{name}: args must be an object, got {args!r}"]
    problems = []
    for arg in sorted(set(args) - set(transform.args)):
        allowed = ", ".join(sorted(transform.args)) or "none"
        problems.append(f"{name}: unknown argument {arg!r} (allowed: {allowed})")
    for arg, spec in transform.args.items():
        if arg not in args:
            if spec.required:
                problems.append(f"{name}: missing argument {arg!r}")
            continue
        value = args[arg]
        if isinstance(value, bool) and bool not in spec.types:
            problems.append(f"{name}: argument {arg!r} has the wrong type ({value!r})")
        elif not isinstance(value, spec.types):
            wanted = " or ".join(t.__name__ for t in spec.types)
            problems.append(f"{name}: argument {arg!r} must be {wanted}, got {value!r}")
        elif spec.choices and value not in spec.choices:
            problems.append(f"{name}: argument {arg!r} must be one of {', '.join(spec.choices)}")
    if not problems and transform.check is not None:
        try:
            transform.check(args)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    return problems


def transform_run(*, name: str, args: Args, value: Any, time_zone: str | None = None) -> Any:
    """Run one transform step (arguments already checked).

    ``time_zone`` (the location's IANA name) is where a date transform places naive dates when
    the step gives no ``assume_tz`` of its own. Any failure on the value comes out as
    TransformError, so a rule never fails obscurely.
    """
    transform = TRANSFORMS[name]
    if transform.zoned and time_zone and "assume_tz" not in args:
        try:
            _zone(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise TransformError(
                f"the location's time zone {time_zone!r} is not an IANA time zone; fix it on the "
                "location or give the rule assume_tz"
            ) from None
        args = {**args, "assume_tz": time_zone}
    return _call(transform.func, args, value)


def _call(func: Callable[..., Any], args: Args, value: Any) -> Any:
    try:
        return func(value, **args)
    except TransformError:
        raise
    except (ValueError, OverflowError, TypeError, ArithmeticError) as exc:
        raise TransformError(f"cannot handle {value!r}: {exc}") from None


# Text transforms that, given text, are the str method itself (_text gives text back as it is).
_STR_METHODS: dict[Callable[..., Any], Callable[[str], str]] = {
    trim: str.strip,
    upper: str.upper,
    lower: str.lower,
    title: str.title,
}

StepRun = Callable[[Any, str | None], Any]


def transform_bind(*, name: str, args: Args) -> StepRun:
    """One step as ``run(value, time_zone)``, its look-ups done once (for compiled rules): the
    same result or TransformError as ``transform_run(name=…, args=…, value=…, time_zone=…)``."""
    transform = TRANSFORMS[name]
    if transform.zoned and "assume_tz" not in args:
        return lambda value, time_zone: transform_run(
            name=name, args=args, value=value, time_zone=time_zone
        )
    func = transform.func
    method = _STR_METHODS.get(func) if not args else None
    if method is None:
        return lambda value, time_zone: _call(func, args, value)
    text_method = method

    def run(value: Any, time_zone: str | None) -> Any:
        if type(value) is str:
            return text_method(value)
        return _call(func, args, value)

    return run
