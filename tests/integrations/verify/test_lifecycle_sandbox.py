"""Lifecycle events as the sandbox sends them (signed, over HTTP, to the live portal)."""

import pytest
import requests

from integrations.models import Connection, WebhookEvent
from portal.models import Location
from sandbox.access.services.webhooks import webhook_deliveries_wait
from tests.integrations.events.sandbox_world import COMPANY, LOCATION

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def control(settings, path, body):
    settings.SANDBOX_CONTROL_TOKEN = "ctl-secret"
    response = requests.post(
        f"{settings.SANDBOX_BASE_URL}/control/{path}",
        json=body,
        headers={"X-Sandbox-Control-Token": "ctl-secret"},
        timeout=20,
    )
    assert response.status_code == 201, response.text
    webhook_deliveries_wait(timeout=30)
    return response.json()


def test_the_sandbox_s_uninstall_marks_the_connection_uninstalled(events_sandbox, settings):
    connection = events_sandbox["connection"]
    control(settings, "uninstall", {"clientId": "rankr-e2e", "locationId": LOCATION})
    event = WebhookEvent.objects.get(event_type="UNINSTALL")
    assert event.status == WebhookEvent.Status.PROCESSED, event.reason
    connection.refresh_from_db()
    assert connection.status == Connection.Status.UNINSTALLED
    assert "uninstalled in HighLevel" in connection.last_error


def test_the_sandbox_s_new_sub_account_is_offered_to_its_agency(events_sandbox, settings):
    made = control(settings, "locations", {"companyId": COMPANY, "name": "Harbour Branch"})
    event = WebhookEvent.objects.get(event_type="LocationCreate")
    assert event.status == WebhookEvent.Status.PROCESSED, event.reason
    assert "added, not connected" in event.reason
    location = Location.objects.get(location_id=made["locationId"])
    assert location.name == "Harbour Branch"
    assert location.agency == events_sandbox["location"].agency
