"""Schema work: repairs of defective specs, examples checked before use, answers fitted."""

from sandbox.spec import schemas
from sandbox.spec.fast import fast_is_valid

CONTACT = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "example": "abc"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "dnd": {"type": "boolean"},
        "email": {"type": "string", "nullable": True},
    },
}


def test_fit_keeps_valid_data_untouched():
    data = {"id": "x", "tags": ["a"], "extra": {"kept": True}}
    assert schemas.fit(CONTACT, data) is data


def test_fit_repairs_only_what_breaks_the_schema():
    fitted = schemas.fit(CONTACT, {"tags": "vip", "dnd": True, "email": None, "extra": 1})
    assert fitted == {"id": "abc", "tags": ["string"], "dnd": True, "email": None, "extra": 1}
    assert schemas.oas_is_valid(CONTACT, fitted)


def test_nested_enums_are_flattened_and_their_contradicting_type_dropped():
    cleaned = schemas.clean({"type": "number", "enum": [["US", "CA"]]})
    assert cleaned == {"enum": ["US", "CA"]}
    assert schemas.clean({"type": "any", "example": 1}) == {"example": 1}


def test_examples_that_break_their_format_are_not_used():
    schema = {"type": "string", "format": "date-time", "example": "10/28/2022, 6:24:54 PM"}
    assert schemas.sample_valid(schema) == "2024-01-01T00:00:00.000Z"


def test_the_compiled_validator_agrees_on_nullable_and_types():
    assert fast_is_valid(CONTACT, {"id": "x", "email": None})
    assert not fast_is_valid(CONTACT, {"id": 1})
    assert not schemas.oas_is_valid(CONTACT, {"id": 1})


def test_errors_read_like_highlevels():
    assert schemas.errors(CONTACT, {"tags": 5}) == [
        "id should not be empty",
        "tags must be a array",
    ]
