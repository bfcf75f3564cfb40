import json

import pytest
from django import forms

from integrations.catalog.examples import schema_example
from integrations.catalog.registry import operation_get
from integrations.interfaces.catalog_forms import OperationRunForm
from integrations.sync.runs import operation_try
from portal.models import AuditEvent


def form_for(key, data=None, choices=((7, "Acme Dental"),)):
    return OperationRunForm(data, operation=operation_get(key), connection_choices=choices)


def test_it_builds_one_field_per_parameter_and_a_body_field():
    form = form_for("PUT /calendars/resources/{resourceType}/{id}")
    params = [name for name in form.fields if name.startswith("p_")]
    assert params == ["p_resourceType", "p_id"]
    assert isinstance(form.fields["p_resourceType"], forms.ChoiceField)
    assert [v for v, _ in form.fields["p_resourceType"].choices] == ["", "equipments", "rooms"]
    assert form.fields["p_id"].label == "id (path, required)"
    assert [v for v, _ in form.fields["connection"].choices] == ["", "7"]


def test_it_never_asks_for_version_or_authorization():
    form = form_for("GET /contacts/")  # declares both as header parameters
    assert not any(name.lower() in ("p_version", "p_authorization") for name in form.fields)
    assert "body" not in form.fields


def test_scalar_body_properties_get_their_own_fields_and_the_rest_a_json_box():
    form = form_for("POST /contacts/")
    assert form.fields["b_locationId"].label == "locationId (body, required)"
    assert form.fields["b_firstName"].label == "firstName (body)"
    assert isinstance(form.fields["b_dnd"], forms.ChoiceField)
    assert "b_tags" not in form.fields and "b_dndSettings" not in form.fields
    assert "tags" in form.fields["body"].help_text and form.fields["body"].initial == ""


def test_the_json_box_starts_from_the_specs_required_nested_properties():
    form = form_for("POST /contacts/bulk/tags/update/{type}")
    start = json.loads(form.fields["body"].initial)
    assert set(start) == {"contacts", "tags"} and start["tags"] == [
        "tag-1",
        "tag-2",
    ]  # spec example
    free = form_for("POST /contacts/search")  # the spec gives it no properties
    assert free.fields["body"].label == "Body (application/json)"
    schema = {
        "type": "object",
        "required": ["n", "f"],
        "properties": {"n": {"type": "integer"}, "f": {"type": "boolean"}},
    }
    assert schema_example(schema) == {"n": 0, "f": False}


def test_fields_and_json_combine_into_one_typed_body():
    form = form_for(
        "POST /contacts/",
        {"dry_run": "on", "b_firstName": "Ada", "b_dnd": "true", "body": '{"tags": ["vip"]}'},
    )
    assert form.is_valid(), form.errors
    assert form.body() == {"tags": ["vip"], "firstName": "Ada", "dnd": True}
    form = form_for("POST /contacts/", {"dry_run": "on", "b_firstName": "Ada", "body": '["x"]'})
    assert not form.is_valid() and "JSON object" in form.errors["body"][0]


def test_invalid_json_is_a_body_error():
    form = form_for("POST /contacts/", {"dry_run": "on", "body": "{oops"})
    assert not form.is_valid()
    assert form.errors["body"][0].startswith("Not valid JSON")


@pytest.mark.django_db
def test_good_input_dry_runs_to_the_exact_request(location_connection):
    form = form_for(
        "PUT /contacts/{contactId}",
        {"dry_run": "on", "connection": "7", "p_contactId": "c1", "b_firstName": "Ada"},
    )
    assert form.is_valid()
    result = operation_try(
        user=None,
        operation=form.operation,
        connection=location_connection,
        params=form.params(),
        body=form.body(),
        dry_run=True,
    )
    assert result.ok and result.status is None
    assert result.request_text.splitlines()[0] == "PUT /contacts/c1"
    assert '"firstName": "Ada"' in result.request_text
    assert AuditEvent.objects.get().action == "catalog.dry_run"


@pytest.mark.django_db
def test_spec_errors_land_on_their_fields(location_connection):
    form = form_for(
        "GET /calendars/{calendarId}/free-slots",
        {"dry_run": "on", "p_calendarId": "c1", "p_startDate": "soon"},
    )
    assert form.is_valid()
    result = operation_try(
        user=None, operation=form.operation, connection=None, params=form.params(), dry_run=True
    )
    form.errors_apply(result.field_errors)
    assert "is not of type 'number'" in form.errors["p_startDate"][0]
    assert form.errors["p_endDate"] == ["This parameter is required."]
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_body_errors_land_on_the_property_fields():
    form = form_for(
        "POST /contacts/", {"dry_run": "on", "b_dnd": "true", "body": '{"tags": "vip"}'}
    )
    assert form.is_valid()
    result = operation_try(user=None, operation=form.operation, body=form.body(), dry_run=True)
    form.errors_apply(result.field_errors)
    assert form.errors["b_locationId"] == ["locationId: This property is required."]
    assert form.errors["body"] == ["tags: 'vip' is not of type 'array'"]


@pytest.mark.django_db
def test_a_missing_scope_is_named_first(location_connection):
    form = form_for(
        "POST /opportunities/", {"dry_run": "on", "connection": "7", "body": '{"name": 5}'}
    )
    assert form.is_valid()
    result = operation_try(
        user=None,
        operation=form.operation,
        connection=location_connection,
        body=form.body(),
        dry_run=True,
    )
    assert result.missing_scopes == ("opportunities.write",)
    assert result.field_errors is None and "opportunities.write" in result.error
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_sending_needs_a_connection():
    result = operation_try(
        user=None,
        operation=operation_get("GET /contacts/{contactId}"),
        params={"contactId": "c1"},
        dry_run=False,
    )
    assert result.error == "Choose a connection to send the request."
