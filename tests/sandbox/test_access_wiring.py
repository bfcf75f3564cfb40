"""The API reaches sandbox.access directly: the gate always runs, events always reach the sender."""

import pytest


@pytest.mark.django_db
def test_a_request_without_a_token_is_refused_by_the_gate(client):
    response = client.post(
        "/sandbox/api/contacts/",
        {"locationId": "loc-x", "email": "n@example.com"},
        content_type="application/json",
        HTTP_VERSION="2021-07-28",
    )
    assert response.status_code == 401


@pytest.mark.django_db
def test_an_emitted_event_is_recorded_for_the_webhook_sender():
    from sandbox.access.models import WebhookEvent
    from sandbox.state.events import event_emit

    event_emit(event_type="ContactCreate", location_id="loc-x", data={"id": "c1"})
    event = WebhookEvent.objects.get()
    assert (event.event_type, event.location_id) == ("ContactCreate", "loc-x")
