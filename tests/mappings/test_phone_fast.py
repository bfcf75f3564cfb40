"""phone_e164's shortcuts (E.164 text read without the general parser, answers kept per text)
give exactly what parsing every value gives: the same text, the same refusals."""

import random

import phonenumbers
import pytest
from phonenumbers.phonemetadata import PhoneMetadata

from mappings.transforms import (
    TransformError,
    _e164_number,
    _e164_parts,
    _phone_e164_cached,
    _phone_e164_parsed,
    _possible_length,
    phone_e164,
)

# The transform as it was: parse every value (the path E.164 text now skips).
parsed = _phone_e164_parsed
REGIONS = ["US", "GB", "IT"]  # the default country only matters to text without +


def outcome(text: str, country: str, strict: bool) -> tuple[bool, str]:
    try:
        return True, phone_e164(text, country=country, strict=strict)
    except TransformError as exc:
        return False, str(exc)


def example_numbers() -> list[str]:
    """Every region's example numbers of every type, in E.164."""
    found = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in range(12):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append(
                    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                )
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            found.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return found


def texts() -> list[str]:
    rng = random.Random(19)
    digits = "0123456789"
    found = example_numbers()
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(
            code, phonenumbers.region_code_for_country_code(code)
        )
        prefix = (metadata.national_prefix or "") if metadata is not None else ""
        for size in (0, 1, 2, 4, 6, 7, 8, 9, 10, 11, 12, 14, 16, 18):
            start = rng.choice(["", "", "0", "00", prefix])  # leading zeros, a national prefix
            found.append(f"+{code}{start}" + "".join(rng.choices(digits, k=size)))
        found.append(f"+{code}" + "0" * rng.randint(1, 6))  # all zeros
    for size in range(22):
        for _ in range(10):
            found.append("+" + "".join(rng.choices(digits, k=size)))
    found += [
        "+",
        "++14155550123",
        "+1 415 555 0123",
        "+１４１５５５５０１２３",
        "+14155550123 ",
        "+1415555012x3",
        "+14155550123#",
        "+1415555012;ext=4",
        "14155550123",
        "+0123456789",
        "+999123456789",
        "+8001234567",
        "+80012345678",
        "+262692123456",
        "+3906698",
    ]
    return found


@pytest.mark.parametrize("strict", [False, True])
def test_the_shortcuts_answer_what_parsing_answers(strict):
    _phone_e164_cached.cache_clear()
    cases = texts()
    shortcut = 0
    for country in REGIONS:
        for text in cases:
            assert outcome(text, country, strict) == parsed(text, country, strict), (text, country)
            number = _e164_number(text)
            if number is not None:
                shortcut += 1
                assert number == phonenumbers.parse(text, country), (text, country)
                assert (
                    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == text
                )
    # Asked again (answers from the cache): still the same.
    for text in cases[::7]:
        assert outcome(text, "US", strict) == parsed(text, "US", strict), text
    assert shortcut > len(REGIONS) * len(cases) // 4  # the shortcut is taken, not only the parser


def test_e164_text_takes_the_shortcut_and_other_text_the_parser():
    assert _e164_number("+14155552671") == phonenumbers.parse("+14155552671")
    assert _e164_number("+447911123456") is not None
    assert _e164_number("+390669812345") is not None  # Italian leading zero kept
    assert _e164_number("(415) 555-2671") is None
    assert _e164_number("+44 7911 123456") is None  # spaces: the parser
    assert _e164_number("+4407911123456") is None  # a national prefix to strip: the parser
    assert phone_e164("+4407911123456", country="US") == "+447911123456"


def test_a_possible_number_is_told_by_its_calling_code_and_length_alone():
    """The non-strict shortcut asks no number object: what is_possible_number answers for the
    number _e164_number reads, for every text the shortcut reads."""
    read = 0
    for text in texts():
        parts = _e164_parts(text)
        if parts is None:
            assert _e164_number(text) is None
            continue
        read += 1
        number = _e164_number(text)
        assert phonenumbers.national_significant_number(number) == parts[1], text
        assert _possible_length(parts[0], len(parts[1])) == phonenumbers.is_possible_number(
            number
        ), text
    assert read > len(texts()) // 4
