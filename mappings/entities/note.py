"""Notes: a contact's HighLevel notes, Rankr's notes."""

from mappings.entities.base import (
    DATETIME,
    DELETE,
    FANOUT,
    GHL_TO_RANKR,
    Entity,
    Event,
    Fetch,
    FlowTemplate,
    LocationPlan,
    rule,
)
from rankr.models import Note

ENTITY = Entity(
    key="note",
    label="Note",
    rankr_model=Note,
    highlevel_fields=("contactId", "id", "userId", "body"),
    fetch=Fetch("GET /contacts/{contactId}/notes/{id}", "id", "note", "contactId"),
    location_plan=LocationPlan(
        FANOUT,
        "Get Contact Notes",
        "GET /contacts/{contactId}/notes",
        "notes",
        overlap_s=60,
        walk_share=0.15,
        why="Notes are listed only per contact: the contacts changed since the mark, then their "
        "notes; the walk visits every contact (notes added to unchanged contacts, deletions).",
    ),
    events={"NoteCreate": Event(), "NoteUpdate": Event(), "NoteDelete": Event(DELETE)},
    flows={
        "ghl_contact_notes": FlowTemplate(
            "HighLevel note added → Rankr note",
            "note",
            GHL_TO_RANKR,
            "GET /contacts/{contactId}/notes",
            [
                rule("body", "content"),
                rule("title", "title", "trim"),
                rule("dateAdded", "noted_at", DATETIME),
                rule("contactId", "contact_ghl_id"),
            ],
        ),
    },
)
