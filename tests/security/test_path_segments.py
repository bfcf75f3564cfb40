"""Path parameters cannot escape their segment: no dot segments, every reserved character encoded."""

import pytest

from integrations.catalog.calls import (
    OperationInvalid,
    OperationRefused,
    PreparedCall,
    call_prepare,
)
from integrations.catalog.connections import ConnectionInfo
from integrations.catalog.registry import LOCATION, operation_get
from integrations.catalog.services import call_send, operation_run
from integrations.ghl.client import ghl_request
from integrations.ghl.errors import GhlInvalid
from integrations.models import SyncLog

DELETE_FIELD = "DELETE /locations/{locationId}/customFields/{id}"
INFO = ConnectionInfo(
    id=1,
    label="x",
    access=LOCATION,
    location_id="loc-1",
    company_id="comp-1",
    granted_scopes=("contacts.readonly",),
)


@pytest.mark.parametrize("value", ["..", "."])
def test_a_dot_segment_is_refused_as_a_path_parameter(value):
    with pytest.raises(OperationInvalid) as caught:
        call_prepare(operation=operation_get(DELETE_FIELD), connection=INFO, params={"id": value})
    assert "cannot be '.' or '..'" in caught.value.errors["id"][0]


def test_every_reserved_character_is_encoded_inside_its_segment():
    call = call_prepare(
        operation=operation_get("GET /contacts/{contactId}"),
        connection=INFO,
        params={"contactId": "a/b?c#d%e f;g"},
    )
    assert call.path == "/contacts/a%2Fb%3Fc%23d%25e%20f%3Bg"


@pytest.mark.parametrize(
    "path",
    [
        "/locations/loc-1/customFields/..",
        "/locations/loc-1/customFields/%2e%2E",
        "/locations/loc-1/./x",
        "/contacts/a#b",
        "/contacts/../x?page=1",
        "//evil.example/contacts",
        "/contacts//x",
    ],
)
def test_the_door_sends_nothing_on_a_path_that_could_escape(connection, mocked, sleeps, path):
    with pytest.raises(GhlInvalid) as caught:
        ghl_request(
            connection_id=connection.pk, method="DELETE", path=path, operation_id=DELETE_FIELD
        )
    assert caught.value.permanent is True
    assert len(mocked.calls) == 0 and not SyncLog.objects.exists()


def test_a_prepared_call_that_does_not_match_its_template_is_not_sent(connection, mocked):
    forged = PreparedCall(operation=DELETE_FIELD, method="DELETE", path="/locations/loc-1")
    with pytest.raises(OperationRefused, match="does not match"):
        call_send(connection_id=connection.pk, call=forged)
    assert len(mocked.calls) == 0


def test_running_an_operation_with_a_dot_id_sends_nothing(connection, mocked, sleeps):
    with pytest.raises(OperationInvalid):
        operation_run(
            connection_id=connection.pk,
            operation_id="GET /contacts/{contactId}",
            params={"contactId": ".."},
        )
    assert len(mocked.calls) == 0


@pytest.mark.parametrize(
    "template, path, ok",
    [
        ("/contacts/{contactId}", "/contacts/abc", True),
        ("/contacts/{contactId}", "/contacts/abc/notes", False),
        ("/contacts/{contactId}", "/contacts/abc?x=1", False),
        ("/contacts/{contactId}", "/contacts/..", False),
        ("/contacts/", "/contacts/", True),
        ("/locations/{locationId}/customFields/{id}", "/locations/loc-1/customFields/f%2F1", True),
    ],
)
def test_the_final_path_is_checked_against_the_template(template, path, ok):
    from integrations.ghl.paths import path_matches_template

    assert path_matches_template(template=template, path=path) is ok
