from datetime import UTC, datetime

import pytest

from mappings.transforms import TRANSFORMS, TransformError, transform_args_check, transform_run


def run(name, value, **args):
    assert transform_args_check(name=name, args=args) == []
    return transform_run(name=name, args=args, value=value)


# Every transform in the registry: (args, good input, expected output, bad input).
CASES = {
    "trim": ({}, "  Ada ", "Ada", ["Ada"]),
    "upper": ({}, "ada", "ADA", {"a": 1}),
    "lower": ({}, "ADA@X.IO", "ada@x.io", ["x"]),
    "title": ({}, "ada lovelace", "Ada Lovelace", True),
    "name_split": ({"part": "last"}, "Ada King Lovelace", "King Lovelace", ["Ada"]),
    "name_join": ({}, ["Ada", None, " Lovelace "], "Ada Lovelace", "Ada Lovelace"),
    "phone_e164": ({"country": "GB"}, "020 7946 0958", "+442079460958", "not a phone"),
    "datetime_parse": (
        {"assume_tz": "Europe/Paris"},
        "2024-05-01T09:30:00",
        datetime(2024, 5, 1, 7, 30, tzinfo=UTC),
        "yesterday",
    ),
    "tz_convert": (
        {"tz": "America/New_York"},
        "2024-05-01T12:00:00Z",
        datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        "12 o'clock",
    ),
    "datetime_format": ({"format": "date"}, 1714552200000, "2024-05-01", "soon"),
    "value_map": ({"values": {"true": "completed", "false": "open"}}, True, "completed", "maybe"),
    "default": ({"value_if_empty": "Rankr"}, "", "Rankr", None),
    "custom_field": (
        {"id": "cf1"},
        [{"id": "cf0", "value": "x"}, {"id": "cf1", "value": "gold"}],
        "gold",
        "gold",
    ),
    "custom_field_wrap": ({"key": "tier"}, "gold", [{"key": "tier", "field_value": "gold"}], None),
    "tags_add": ({"tags": ["vip", "new"]}, ["new", "old"], ["new", "old", "vip"], [1, 2]),
    "tags_remove": ({"tags": ["OLD"]}, "new, old", ["new"], {"tags": "old"}),
    "tags_replace": ({"tags": ["rankr"]}, ["a"], ["rankr"], 42),
}


def test_every_registered_transform_has_a_case():
    assert set(CASES) == set(TRANSFORMS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_it_transforms_good_input(name):
    args, good, expected, _ = CASES[name]
    assert run(name, good, **args) == expected


@pytest.mark.parametrize(
    "name", sorted(n for n in CASES if n not in ("default", "custom_field_wrap"))
)
def test_it_refuses_bad_input_with_a_message(name):
    args, _, _, bad = CASES[name]
    with pytest.raises(TransformError) as exc:
        transform_run(name=name, args=args, value=bad)
    assert str(exc.value)


def test_default_keeps_a_present_value_and_wrap_takes_anything():
    # The two transforms that cannot fail on a value: check they do not change good data.
    assert run("default", "Ada", value_if_empty="Rankr") == "Ada"
    assert run("default", None, value_if_empty=["x"]) == ["x"]
    assert run("custom_field_wrap", 3, id="cf9") == [{"id": "cf9", "field_value": 3}]


def test_tz_convert_lands_in_the_asked_zone():
    out = run("tz_convert", "2024-05-01T12:00:00Z", tz="America/New_York")
    assert out.isoformat() == "2024-05-01T08:00:00-04:00"


def test_datetime_parse_reads_epoch_milliseconds_as_number_and_text():
    expected = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert run("datetime_parse", 1714552200000) == expected
    assert run("datetime_parse", "1714552200000") == expected


def test_datetime_format_variants():
    moment = "2024-05-01T08:30:00+00:00"
    assert run("datetime_format", moment) == "2024-05-01T08:30:00+00:00"
    assert run("datetime_format", moment, format="epoch_ms") == 1714552200000
    assert run("datetime_format", moment, format="%d/%m/%Y %H:%M") == "01/05/2024 08:30"


def test_phone_e164_reads_international_numbers_whatever_the_default_country():
    assert run("phone_e164", "+1 (415) 555-2671", country="GB") == "+14155552671"
    assert run("phone_e164", "415-555-2671", country="US") == "+14155552671"


def test_phone_e164_strict_refuses_a_possible_but_unassigned_number():
    # Area codes never start with 1: ten digits make it possible, not valid.
    assert run("phone_e164", "123-456-7890", country="US") == "+11234567890"
    with pytest.raises(TransformError, match="not a valid phone number"):
        run("phone_e164", "123-456-7890", country="US", strict=True)


def test_name_split_first_and_of_a_single_word():
    assert run("name_split", " Ada  Lovelace ", part="first") == "Ada"
    assert run("name_split", "Cher", part="last") == ""


def test_value_map_fallback_and_numbers():
    assert run("value_map", "unknown", values={"a": 1}, otherwise="other") == "other"
    assert run("value_map", 2, values={"2": "two"}) == "two"
    with pytest.raises(TransformError, match="is not in the value map"):
        run("value_map", "b", values={"a": 1})


def test_custom_field_by_key_and_the_object_form():
    fields = [{"id": "cf1", "fieldKey": "contact.tier", "value": "gold"}]
    assert run("custom_field", fields, key="contact.tier") == "gold"
    assert run("custom_field", {"cf1": "silver"}, id="cf1") == "silver"
    assert run("custom_field", fields, id="missing") is None
    with pytest.raises(TransformError, match="is not an object"):
        run("custom_field", ["gold"], id="cf1")


def test_tags_add_does_not_duplicate_and_remove_ignores_case():
    assert run("tags_add", None, tags=["vip"]) == ["vip"]
    assert run("tags_add", ["vip"], tags=["vip"]) == ["vip"]
    assert run("tags_remove", ["VIP", "new"], tags=["vip"]) == ["new"]


@pytest.mark.parametrize(
    "name, args, problem",
    [
        ("shout", {}, "unknown transform 'shout'"),
        ("trim", {"side": "left"}, "unknown argument 'side'"),
        ("phone_e164", {}, "missing argument 'country'"),
        ("phone_e164", {"country": "XX"}, "not a two-letter region code"),
        ("phone_e164", {"country": "US", "strict": "yes"}, "argument 'strict' must be bool"),
        ("name_split", {"part": "middle"}, "must be one of first, last"),
        ("tz_convert", {"tz": "Mars/Olympus"}, "not an IANA time zone"),
        ("datetime_parse", {"assume_tz": 5}, "argument 'assume_tz' must be str"),
        ("datetime_format", {"format": "yyyy"}, "not iso, date, epoch_ms or a strftime"),
        ("value_map", {"values": ["a"]}, "argument 'values' must be dict"),
        ("custom_field", {"id": "a", "key": "b"}, "exactly one of id or key"),
        ("custom_field", {}, "exactly one of id or key"),
        ("tags_add", {"tags": ["ok", ""]}, "non-empty text"),
        ("tags_add", {"tags": "vip"}, "argument 'tags' must be list"),
        ("default", {}, "missing argument 'value_if_empty'"),
        ("trim", "x", "args must be an object"),
    ],
)
def test_bad_arguments_are_named(name, args, problem):
    problems = transform_args_check(name=name, args=args)
    assert any(problem in p for p in problems), problems


def test_values_out_of_range_are_transform_errors_not_crashes():
    with pytest.raises(TransformError, match="cannot handle 99999999999999999999"):
        transform_run(name="datetime_parse", args={}, value=99999999999999999999)
    with pytest.raises(TransformError, match="is not a phone number"):
        transform_run(name="phone_e164", args={"country": "US"}, value="1" * 300)
