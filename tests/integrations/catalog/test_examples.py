"""Every one of the 576 operations can be given a request its own spec accepts.

This is the request the contract test (against the sandbox, once merged) sends for each operation.
"""

import pytest

from integrations.catalog.calls import (
    OperationInvalid,
    binary_fields,
    call_prepare,
    response_errors,
)
from integrations.catalog.examples import request_example, schema_example
from integrations.catalog.registry import registry
from integrations.ghl.uploads import UploadFile
from tests.spec_defects import example_requests_unsatisfiable

pytestmark = pytest.mark.slow  # per operation: 576 requests built from the spec and validated

# Operations whose spec no request can satisfy, with the reason (tests/spec_defects.py).
UNSATISFIABLE = example_requests_unsatisfiable()


def cases():
    for key, op in registry().items():
        marks = (
            [pytest.mark.xfail(strict=True, reason=UNSATISFIABLE[key])]
            if key in UNSATISFIABLE
            else []
        )
        yield pytest.param(op, id=key, marks=marks)


@pytest.mark.parametrize("operation", cases())
def test_the_spec_accepts_a_request_built_from_it(
    operation, location_connection, agency_connection
):
    connection = agency_connection if operation.access == "agency" else location_connection
    params, body = request_example(operation)
    upload = None
    if operation.body_content_type == "multipart/form-data":  # a file is part of such a request
        upload = UploadFile(name="example.csv", content=b"a,b\n1,2\n", content_type="text/csv")
        body = {**(body or {}), **dict.fromkeys(binary_fields(operation), upload)}
    call = call_prepare(operation=operation, params=params, body=body, connection=connection)
    assert call.method == operation.method
    assert "{" not in call.path
    if upload is not None:
        assert set(call.files.values()) == {upload} and upload not in (call.data or {}).values()


def test_a_multipart_operation_without_a_file_is_refused_and_a_file_elsewhere_too(
    location_connection,
):
    with pytest.raises(OperationInvalid, match="Choose a file"):
        call_prepare(
            operation=registry()["POST /medias/upload-file"],
            params={},
            body={"name": "x"},
            connection=location_connection,
        )
    upload = UploadFile(name="a.txt", content=b"a")
    with pytest.raises(OperationInvalid, match="Files go only to multipart"):
        call_prepare(
            operation=registry()["POST /contacts/"],
            params={},
            body={"firstName": "A", "file": upload},
            connection=location_connection,
        )


def test_examples_that_contradict_their_schema_are_not_used():
    schema = {
        "type": "object",
        "example": "a string",
        "required": ["n"],
        "properties": {"n": {"type": "integer", "minimum": 3}},
    }
    assert schema_example(schema) == {"n": 3}
    assert schema_example({"type": "string", "example": "ok"}) == "ok"
    assert schema_example({"anyOf": [{"type": "boolean"}, {"type": "string"}]}) is False


def test_answers_are_checked_against_the_response_schema():
    op = registry()["GET /contacts/{contactId}"]
    good = schema_example(op.response_schema)
    assert response_errors(operation=op, data=good) == []
    assert response_errors(operation=op, data={"contact": {"id": 5}}) == [
        "contact.id: 5 is not of type 'string'"
    ]
    assert (
        response_errors(operation=registry()["POST /contacts/search"], data={"anything": 1}) == []
    )
