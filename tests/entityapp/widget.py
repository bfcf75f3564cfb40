"""A throwaway synced entity: everything the portal knows about widgets, in this one module.

HighLevel has no widgets: they ride on the contacts API (listed by "List Contacts (Deprecated)",
read by "GET /contacts/{contactId}") and arrive by two made-up webhook event types.
"""

from mappings.entities.base import DELETE, GHL_TO_RANKR, Entity, Event, Fetch, FlowTemplate, rule
from tests.entityapp.models import Widget

ENTITY = Entity(
    key="widget",
    label="Widget",
    rankr_model=Widget,
    highlevel_fields=("firstName", "email"),
    fetch=Fetch("GET /contacts/{contactId}", "contactId", "contact"),
    natural_key="email",
    poll={
        "List Contacts (Deprecated)": {
            "records": "contacts",
            "record_id": "id",
            "change_key": "dateUpdated",
        },
    },
    events={"WidgetUpdate": Event(), "WidgetDelete": Event(DELETE)},
    flows={
        "ghl_widgets": FlowTemplate(
            "HighLevel widgets → Rankr widgets",
            "widget",
            GHL_TO_RANKR,
            "GET /contacts/",
            [rule("firstName", "name", "trim"), rule("email", "email", "trim", "lower")],
        ),
    },
)
