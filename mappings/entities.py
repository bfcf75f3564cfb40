"""What a mapping can be about: each entity's Rankr record kind and HighLevel fields.

``highlevel_fields`` are the HighLevel names a Rankr→HighLevel rule may target: the request body
properties and path parameters of the entity's HighLevel operations (a test checks each against
the official specs in ``specs/highlevel/apps``). HighLevel→Rankr rules target the Rankr record's
fields (``rankr.models``). Fields the sync fills from the connection (``locationId``,
``companyId``) are left out: a mapping says how data maps, not where it goes.
"""

from dataclasses import dataclass

from rankr.models import RECORD_MODELS

GHL_TO_RANKR = "ghl_to_rankr"
RANKR_TO_GHL = "rankr_to_ghl"
DIRECTIONS = [(GHL_TO_RANKR, "HighLevel → Rankr"), (RANKR_TO_GHL, "Rankr → HighLevel")]

# Targets several rules may write together: their lists are concatenated, in rule order.
LIST_TARGETS = {"customFields", "tags"}


@dataclass(frozen=True)
class Entity:
    label: str
    # The Rankr record kind (rankr.models.RECORD_MODELS); None for payload-only entities.
    rankr_kind: str | None
    highlevel_fields: tuple = ()
    # Where a HighLevel record of this entity keeps its id.
    id_path: str = "id"
    # Where it keeps its modification time (the first present wins): what "newer" means when two
    # versions of a record arrive out of order. Without one, the event's timestamp is used.
    modified_paths: tuple = ("dateUpdated", "updatedAt")

    @property
    def rankr_model(self):
        return RECORD_MODELS[self.rankr_kind] if self.rankr_kind else None

    def rankr_fields(self):
        """Field names of the Rankr side (a record read for Rankr→HighLevel includes its ids)."""
        if self.rankr_model is None:
            return None
        return self.rankr_model.mapped_field_names()

    def targets(self, direction):
        """Allowed target fields, or None when anything goes (payload-only entity)."""
        if direction == GHL_TO_RANKR:
            return self.rankr_fields()
        return list(self.highlevel_fields)

    def source_roots(self, direction):
        """Allowed first segment of a source path, or None when not checkable."""
        if direction == RANKR_TO_GHL and self.rankr_model is not None:
            return [*self.rankr_fields(), "id", "ghl_id"]
        return None


CONTACT_FIELDS = (
    "contactId", "firstName", "lastName", "name", "email", "phone", "companyName", "tags",
    "source", "customFields", "address1", "city", "state", "postalCode", "country", "website",
    "timezone", "dateOfBirth", "assignedTo", "gender", "dnd",
)

ENTITIES = {
    "contact": Entity("Contact", "contact", CONTACT_FIELDS),
    "task": Entity(
        "Task", "task",
        ("contactId", "taskId", "title", "body", "dueDate", "completed", "assignedTo"),
    ),
    "note": Entity("Note", "note", ("contactId", "id", "userId", "body")),
    "appointment": Entity(
        "Appointment", "appointment",
        ("eventId", "calendarId", "contactId", "title", "appointmentStatus", "startTime",
         "endTime", "assignedUserId", "address"),
    ),
    "user": Entity(
        "User", "user",
        ("userId", "firstName", "lastName", "email", "phone", "type", "role", "permissions",
         "scopes"),
    ),
    "opportunity": Entity(
        "Opportunity", "opportunity",
        ("id", "pipelineId", "name", "pipelineStageId", "status", "contactId", "monetaryValue",
         "assignedTo"),
    ),
    "social_tag": Entity("Social tag", "social_tag", (), id_path="_id"),
    "social_tag_detail": Entity(
        "Social tag details", "social_tag_detail", ("tagIds",), id_path="_id"
    ),
    "post_statistic": Entity(
        "Post statistics", "post_statistic", ("profileIds", "platforms"), id_path="postId"
    ),
    "workflow": Entity("Workflow", "workflow", ("workflowId",)),
    # Courses have no Rankr table: the course payload is mapped straight into HighLevel's import.
    "course": Entity("Course", None, ("userId", "products")),
}

ENTITY_CHOICES = [(key, entity.label) for key, entity in ENTITIES.items()]
