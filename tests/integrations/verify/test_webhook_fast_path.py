"""Webhooks are the fast path for every documented event type carrying a synced entity, through
the polled path: a record arriving both ways stays one row."""

import os
from pathlib import Path

import pytest

from integrations.models import Job, WebhookEvent
from integrations.sync import webhooks_in
from integrations.sync.jobs import job_run
from integrations.sync.webhook_events import webhook_event_enqueue
from mappings.entities import ENTITIES
from mappings.services import mapping_page_apply, mapping_template_apply, mapping_version_latest
from rankr.models import Opportunity

DOCS = Path(__file__).resolve().parents[3] / "specs" / "highlevel" / "docs" / "webhook events"
LIFECYCLE = {"AppInstall": "INSTALL", "AppUninstall": "UNINSTALL"}


def test_every_documented_event_of_a_synced_entity_and_every_lifecycle_event_is_handled():
    documented = {name[:-3] for name in os.listdir(DOCS) if name.endswith(".md")}
    synced = tuple(entity.label for entity in ENTITIES.values() if entity.rankr_model is not None)
    carrying = {name for name in documented if name.startswith(synced)}
    assert {"OpportunityStatusUpdate", "TaskComplete", "NoteUpdate", "UserCreate"} <= carrying
    handled = set(webhooks_in.EVENT_HANDLERS)
    assert carrying <= handled, sorted(carrying - handled)
    assert {"LocationCreate", "LocationUpdate", *LIFECYCLE.values()} <= handled


OPPORTUNITY = {  # OpportunityStatusUpdate.md's example
    "type": "OpportunityStatusUpdate",
    "locationId": "loc-1",
    "id": "wWhVuzqpRuOA1ZVWi4FC",
    "assignedTo": "bNl8QNGXhIQJLv8eeASQ",
    "contactId": "cJAWDskpkJHbRbhAT7bs",
    "monetaryValue": 40,
    "name": "Loram ipsu",
    "pipelineId": "VDm7RPYC2GLUvdpKmBfC",
    "pipelineStageId": "e93ba61a-53b3-45e7-985a-c7732dbcdb69",
    "source": "Loram ipsu",
    "status": "open",
    "dateAdded": "2021-11-26T12:41:02.193Z",
}


@pytest.mark.django_db
def test_an_opportunity_polled_then_updated_by_webhook_stays_one_row(location):
    mapping, _ = mapping_template_apply(
        template_key="ghl_opportunities", location_id=location.pk, user_id=None
    )
    polled = {k: v for k, v in OPPORTUNITY.items() if k != "type"}
    mapping_page_apply(
        mapping_version=mapping_version_latest(mapping_id=mapping.pk),
        location_id=location.pk,
        records=[{**polled, "status": "open"}],
    )
    event = WebhookEvent.objects.create(
        webhook_id="wh-opp",
        event_type="OpportunityStatusUpdate",
        highlevel_location_id="loc-1",
        location=location,
        payload={
            **OPPORTUNITY,
            "status": "won",
            "webhookId": "wh-opp",
            "timestamp": "2026-01-01T00:00:00Z",
        },
    )
    webhook_event_enqueue(event)
    job = Job.objects.get(idempotency_key="webhook:wh-opp")
    assert job_run(job_id=job.pk) == Job.Status.SUCCEEDED
    row = Opportunity.objects.get(location=location)
    assert (row.ghl_id, row.status, row.name) == ("wWhVuzqpRuOA1ZVWi4FC", "won", "Loram ipsu")


def test_a_user_created_by_webhook_keeps_its_role_where_the_polled_user_has_it():
    """UserCreate.md gives ``role`` flat; the API's user (and the mapping's path) has
    ``roles.role``. Found by bench/location_equality.py --webhooks: the webhook's row had no role,
    and the walk's version, older by HighLevel's clock than the event, could not repair it."""
    from integrations.sync.webhook_events import webhook_record
    from mappings.rules import path_get

    payload = {
        "type": "UserCreate",
        "locationId": "loc-1",
        "id": "u-1",
        "firstName": "Ada",
        "lastName": "Admin",
        "email": "ada@example.com",
        "role": "admin",
        "locations": ["loc-1"],
        "timestamp": "2026-12-02T01:00:00.000Z",
        "webhookId": "w-1",
    }
    record = webhook_record(event_type="UserCreate", payload=payload)
    assert path_get(record, "roles.role") == "admin"
    assert record["email"] == "ada@example.com"
