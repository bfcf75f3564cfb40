import json

import pytest
from django import forms

from integrations.catalog.examples import schema_example
from integrations.catalog.forms import OperationRunForm
from integrations.catalog.registry import operation_get
from integrations.catalog.runs import operation_try
from portal.models import AuditEvent


def form_for(key, data=None, choices=((7, "Acme Dental"),)):
    return OperationRunForm(data, operation=operation_get(key), connection_choices=choices)


def test_it_builds_one_field_per_parameter_and_a_body_field():
    form = form_for("PUT /calendars/resources/{resourceType}/{id}")
    assert list(form.fields) == ["connection", "dry_run", "p_resourceType", "p_id", "body"]
    assert isinstance(form.fields["p_resourceType"], forms.ChoiceField)
    assert [v for v, _ in form.fields["p_resourceType"].choices] == ["", "equipments", "rooms"]
    assert form.fields["p_id"].label == "id (path, required)"
    assert [v for v, _ in form.fields["connection"].choices] == ["", "7"]


def test_it_never_asks_for_version_or_authorization():
    form = form_for("GET /contacts/")  # declares both as header parameters
    assert not any(name.lower() in ("p_version", "p_authorization") for name in form.fields)
    assert "body" not in form.fields


def test_the_body_starts_from_the_specs_required_properties():
    body = json.loads(form_for("POST /contacts/").fields["body"].initial)
    assert body == {"locationId": "ve9EPM428h8vShlRW1KT"}
    assert "firstName" in form_for("POST /contacts/").fields["body"].help_text
    assert schema_example({"type": "object", "required": ["n", "f"], "properties": {"n": {"type": "integer"}, "f": {"type": "boolean"}}}) == {"n": 0, "f": False}


def test_invalid_json_is_a_body_error():
    form = form_for("POST /contacts/", {"dry_run": "on", "body": "{oops"})
    assert not form.is_valid()
    assert form.errors["body"][0].startswith("Not valid JSON")


@pytest.mark.django_db
def test_good_input_dry_runs_to_the_exact_request(location_connection):
    form = form_for("PUT /contacts/{contactId}", {"dry_run": "on", "connection": "7", "p_contactId": "c1", "body": '{"firstName": "Ada"}'})
    assert form.is_valid()
    result = operation_try(user=None, operation=form.operation, connection=location_connection,
                           params=form.params(), body=form.cleaned_data["body"], dry_run=True)
    assert result.ok and result.status is None
    assert result.request_text.splitlines()[0] == "PUT /contacts/c1"
    assert AuditEvent.objects.get().action == "catalog.dry_run"


@pytest.mark.django_db
def test_spec_errors_land_on_their_fields(location_connection):
    form = form_for("GET /calendars/{calendarId}/free-slots", {"dry_run": "on", "p_calendarId": "c1", "p_startDate": "soon"})
    assert form.is_valid()
    result = operation_try(user=None, operation=form.operation, connection=None, params=form.params(), dry_run=True)
    form.errors_apply(result.field_errors)
    assert "is not of type 'number'" in form.errors["p_startDate"][0]
    assert form.errors["p_endDate"] == ["This parameter is required."]
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_a_missing_scope_is_named_first(location_connection):
    form = form_for("POST /opportunities/", {"dry_run": "on", "connection": "7", "body": '{"name": 5}'})
    assert form.is_valid()
    result = operation_try(user=None, operation=form.operation, connection=location_connection,
                           body=form.cleaned_data["body"], dry_run=True)
    assert result.missing_scopes == ("opportunities.write",)
    assert result.field_errors is None and "opportunities.write" in result.error
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_sending_needs_a_connection():
    result = operation_try(user=None, operation=operation_get("GET /contacts/{contactId}"),
                           params={"contactId": "c1"}, dry_run=False)
    assert result.error == "Choose a connection to send the request."
