"""Contacts: HighLevel's contacts, Rankr's contacts and leads."""

from typing import Any

from mappings.entities.base import (
    DELETE,
    GHL_TO_RANKR,
    INCREMENTAL,
    RANKR_TO_GHL,
    Body,
    Entity,
    Event,
    Fetch,
    FlowTemplate,
    LocationPlan,
    Params,
    RequestShape,
    rule,
    step,
)
from rankr.models import Contact


def _search_base(*, location_ghl_id: str) -> dict[str, Any]:
    # The spec leaves the body schema empty; HighLevel's Search Contacts docs require locationId.
    return {"locationId": location_ghl_id}


def _search_since(*, params: Params, body: Body, watermark: str) -> tuple[Params, Body]:
    # Search Contacts filters: {"field": "dateUpdated", "operator": "range", "value": {"gte": …}}.
    # The mark is inclusive: records stamped in its millisecond come again and are skipped by
    # fingerprint, rather than missed.
    body = dict(body or {})
    body["filters"] = [
        *(body.get("filters") or []),
        {"field": "dateUpdated", "operator": "range", "value": {"gte": watermark}},
    ]
    return params, body


ENTITY = Entity(
    key="contact",
    label="Contact",
    rankr_model=Contact,
    highlevel_fields=(
        "contactId",
        "firstName",
        "lastName",
        "name",
        "email",
        "phone",
        "companyName",
        "tags",
        "source",
        "customFields",
        "address1",
        "city",
        "state",
        "postalCode",
        "country",
        "website",
        "timezone",
        "dateOfBirth",
        "assignedTo",
        "gender",
        "dnd",
    ),
    fetch=Fetch("GET /contacts/{contactId}", "contactId", "contact"),
    personal_fields=(
        "firstName",
        "lastName",
        "name",
        "contactName",
        "firstNameLowerCase",
        "lastNameLowerCase",
        "fullNameLowerCase",
        "email",
        "emailLowerCase",
        "additionalEmails",
        "phone",
        "additionalPhones",
        "address1",
        "dateOfBirth",
    ),
    natural_key="email",
    poll={
        # The spec gives no 200 schema; HighLevel answers {"contacts": [...], "total": n}.
        "Search Contacts": {"records": "contacts", "record_id": "id", "change_key": "dateUpdated"},
    },
    location_plan=LocationPlan(
        INCREMENTAL,
        "Search Contacts",
        "POST /contacts/search",
        "contacts",
        overlap_s=60,
        walk_share=0.01,
        why="Search Contacts filters and sorts by dateUpdated: ask only for what changed since "
        "the mark (a minute of overlap); the walk lists every page to find deletions.",
    ),
    requests={"POST /contacts/search": RequestShape(base=_search_base, since=_search_since)},
    events={
        "ContactCreate": Event(),
        "ContactUpdate": Event(),
        "ContactTagUpdate": Event(),
        "ContactDndUpdate": Event(),
        "ContactDelete": Event(DELETE),
    },
    flows={
        "ghl_contact_upsert": FlowTemplate(
            "HighLevel contact created/updated → upsert Rankr contact",
            "contact",
            GHL_TO_RANKR,
            "GET /contacts/{contactId}",
            [
                rule("email", "email", "trim", "lower"),
                rule("firstName", "first_name", "trim"),
                rule("lastName", "last_name", "trim"),
                rule("phone", "phone", step("phone_e164", country="US")),
                rule("companyName", "company", "trim"),
                rule("tags", "tags", null="clear"),
                rule("source", "source", "trim"),
            ],
        ),
        "rankr_lead_create": FlowTemplate(
            "New Rankr lead → create HighLevel contact",
            "contact",
            RANKR_TO_GHL,
            "POST /contacts/",
            [
                rule(["first_name", "last_name"], "name", "name_join"),
                rule("first_name", "firstName", "trim"),
                rule("last_name", "lastName", "trim"),
                rule("email", "email", "trim", "lower"),
                rule("phone", "phone", step("phone_e164", country="US")),
                rule("company", "companyName", "trim"),
                rule("tags", "tags"),
                rule("source", "source", "trim", null="default", default="Rankr"),
            ],
        ),
    },
)
