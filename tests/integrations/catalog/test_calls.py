import pytest

from integrations.catalog.calls import (
    OperationInvalid,
    OperationRefused,
    call_prepare,
    call_refusal,
    scopes_missing,
)
from integrations.catalog.registry import operation_get
from integrations.catalog.services import operation_check


def test_good_input_becomes_the_exact_request(location_connection):
    call = call_prepare(
        operation=operation_get("PUT /contacts/{contactId}"),
        params={"contactId": "abc/1"},
        body={"firstName": "Ada", "tags": ["vip"]},
        connection=location_connection,
    )
    assert call.method == "PUT"
    assert call.path == "/contacts/abc%2F1"
    assert call.headers == {"Version": "2021-07-28"}
    assert call.json == {"firstName": "Ada", "tags": ["vip"]}
    text = call.as_text()
    assert text.startswith(
        "PUT /contacts/abc%2F1\nAuthorization: Bearer ••••••\nVersion: 2021-07-28"
    )
    assert '"firstName": "Ada"' in text


def test_the_connection_fills_its_location_in_query_and_body(location_connection):
    listed = call_prepare(
        operation=operation_get("GET /contacts/"),
        params={"limit": "20"},
        connection=location_connection,
    )
    assert listed.query == {"locationId": "LOC123", "limit": 20}
    assert listed.target == "/contacts/?locationId=LOC123&limit=20"
    created = call_prepare(
        operation=operation_get("POST /contacts/"),
        body={"firstName": "Ada"},
        connection=location_connection,
    )
    assert created.json == {"firstName": "Ada", "locationId": "LOC123"}


def test_alt_id_and_alt_type_come_from_the_connection(location_connection, agency_connection):
    op = operation_get("GET /invoices/")
    call = call_prepare(
        operation=op, params={"limit": 10, "offset": 0}, connection=location_connection
    )
    assert call.query["altId"] == "LOC123" and call.query["altType"] == "location"


def test_the_version_is_the_one_the_operation_requires(location_connection):
    call = call_prepare(operation=operation_get("GET /calendars/"), connection=location_connection)
    assert call.headers["Version"] == "2021-04-15"


def test_every_field_error_is_reported_at_once():
    with pytest.raises(OperationInvalid) as caught:
        call_prepare(
            operation=operation_get("POST /contacts/"),
            body={"firstName": 5, "tags": "vip", "dnd": "maybe"},
        )
    errors = caught.value.errors
    assert errors["body.firstName"] == ["firstName: 5 is not of type 'string'"]
    assert errors["body.tags"] == ["tags: 'vip' is not of type 'array'"]
    assert "body.dnd" in errors
    assert errors["body.locationId"] == ["locationId: This property is required."]


def test_missing_and_unknown_parameters_are_named():
    with pytest.raises(OperationInvalid) as caught:
        call_prepare(operation=operation_get("GET /contacts/{contactId}"), params={"contact": "x"})
    assert caught.value.errors == {
        "contactId": ["This parameter is required."],
        "contact": ["GET /contacts/{contactId} has no parameter 'contact'."],
    }


def test_parameter_values_are_checked_against_their_schema():
    with pytest.raises(OperationInvalid) as caught:
        call_prepare(
            operation=operation_get("GET /calendars/resources/{resourceType}/{id}"),
            params={"resourceType": "tables", "id": "r1"},
        )
    assert list(caught.value.errors) == ["resourceType"]
    assert (
        "'tables' is not one of ['equipments', 'rooms']" in caught.value.errors["resourceType"][0]
    )
    with pytest.raises(OperationInvalid) as caught:
        call_prepare(
            operation=operation_get("GET /calendars/{calendarId}/free-slots"),
            params={"calendarId": "c1", "startDate": "soon", "endDate": "1601490599999"},
        )
    assert list(caught.value.errors) == ["startDate"]


def test_text_from_forms_gets_the_type_the_schema_declares():
    call = call_prepare(
        operation=operation_get("GET /calendars/{calendarId}/free-slots"),
        params={"calendarId": "c1", "startDate": "1548898600000", "endDate": "1601490599999"},
    )
    assert call.query == {"startDate": 1548898600000, "endDate": 1601490599999}


def test_a_body_is_required_or_refused_as_the_spec_says(location_connection):
    with pytest.raises(OperationInvalid) as caught:
        call_prepare(
            operation=operation_get("PUT /contacts/{contactId}"), params={"contactId": "c1"}
        )
    assert caught.value.errors == {"body": ["A request body is required."]}
    with pytest.raises(OperationInvalid) as caught:
        call_prepare(
            operation=operation_get("GET /contacts/{contactId}"),
            params={"contactId": "c1"},
            body={"x": 1},
        )
    assert caught.value.errors == {"body": ["This operation takes no body."]}


def test_missing_scopes_are_named_before_anything_else(location_connection):
    op = operation_get("POST /opportunities/")
    assert scopes_missing(operation=op, granted=location_connection.granted_scopes) == [
        "opportunities.write"
    ]
    with pytest.raises(OperationRefused) as caught:
        # The body is invalid too: the scope refusal still comes first.
        operation_check(connection=location_connection, operation_id=op.key, body={"name": 1})
    assert caught.value.missing_scopes == ("opportunities.write",)
    assert "lacks the scope opportunities.write" in str(caught.value)


def test_an_agency_operation_is_refused_on_a_location_token(location_connection, agency_connection):
    op = operation_get("GET /companies/{companyId}")
    scoped = location_connection.__class__(
        **{**location_connection.__dict__, "granted_scopes": ("companies.readonly",)}
    )
    refusal = call_refusal(operation=op, connection=scoped)
    assert refusal is not None and "needs an agency token" in str(refusal)
    assert call_refusal(operation=op, connection=agency_connection) is None


def test_operation_check_accepts_the_key_with_extra_spaces(location_connection):
    call = operation_check(
        connection=location_connection,
        operation_id=" GET  /contacts/{contactId} ",
        params={"contactId": "c1"},
    )
    assert call.path == "/contacts/c1"
