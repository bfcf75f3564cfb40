"""Ready mappings for each flow of PRODUCT.md's "Flows the pages promise" table.

A staff member applies one to a location in one action (``mapping_template_apply``); the result
is an ordinary mapping they can edit. ``operation_key`` names the HighLevel operation the flow
uses, as "METHOD /path" with the official spec's path template. Phone numbers default to US;
edit the mapping for a location elsewhere. The sync fills connection-level fields itself
(``locationId``, ``companyId``, ``locationIds``, a new user's password).
"""

from dataclasses import dataclass, field

from mappings.entities import GHL_TO_RANKR, RANKR_TO_GHL


@dataclass(frozen=True)
class FlowTemplate:
    title: str
    entity: str
    direction: str
    operation_key: str
    rules: list = field(default_factory=list)
    null_policy: str = "skip"


def _rule(source, target, *transforms, **extra):
    steps = [t if isinstance(t, dict) else {"name": t} for t in transforms]
    return {"source": source, "target": target, "transforms": steps, **extra}


def _step(name, **args):
    return {"name": name, "args": args}


_DATETIME = _step("datetime_parse")

FLOW_TEMPLATES = {
    "rankr_user_create": FlowTemplate(
        "New Rankr user → create HighLevel user",
        "user", RANKR_TO_GHL, "POST /users/",
        [
            _rule("email", "email", "trim", "lower"),
            _rule("full_name", "firstName", _step("name_split", part="first")),
            _rule("full_name", "lastName", _step("name_split", part="last")),
            _rule("role", "role", "lower", _step(
                "value_map", values={"admin": "admin", "user": "user"}, otherwise="user"
            )),
            _rule(None, "type", null="default", default="account"),
        ],
    ),
    "rankr_user_delete": FlowTemplate(
        "Rankr user deleted → delete HighLevel user",
        "user", RANKR_TO_GHL, "DELETE /users/{userId}",
        [_rule("ghl_id", "userId")],
    ),
    "ghl_workflows": FlowTemplate(
        "HighLevel workflows → Rankr automations",
        "workflow", GHL_TO_RANKR, "GET /workflows/",
        [_rule("name", "name", "trim"), _rule("status", "status", "lower")],
    ),
    "ghl_contact_upsert": FlowTemplate(
        "HighLevel contact created/updated → upsert Rankr contact",
        "contact", GHL_TO_RANKR, "GET /contacts/{contactId}",
        [
            _rule("email", "email", "trim", "lower"),
            _rule("firstName", "first_name", "trim"),
            _rule("lastName", "last_name", "trim"),
            _rule("phone", "phone", _step("phone_e164", country="US")),
            _rule("companyName", "company", "trim"),
            _rule("tags", "tags", null="clear"),
            _rule("source", "source", "trim"),
        ],
    ),
    "ghl_task_sync": FlowTemplate(
        "HighLevel task created/updated/completed → Rankr task",
        "task", GHL_TO_RANKR, "GET /contacts/{contactId}/tasks/{taskId}",
        [
            _rule("title", "title", "trim"),
            _rule("body", "description"),
            _rule("dueDate", "due_date", _DATETIME),
            _rule("completed", "status", _step(
                "value_map", values={"true": "completed", "false": "open"}
            ), null="default", default="open"),
            _rule("contactId", "contact_ghl_id"),
        ],
    ),
    "ghl_contact_notes": FlowTemplate(
        "HighLevel note added → Rankr note",
        "note", GHL_TO_RANKR, "GET /contacts/{contactId}/notes",
        [
            _rule("body", "content"),
            _rule("title", "title", "trim"),
            _rule("dateAdded", "noted_at", _DATETIME),
            _rule("contactId", "contact_ghl_id"),
        ],
    ),
    "ghl_contact_appointments": FlowTemplate(
        "HighLevel meeting scheduled → Rankr appointment",
        "appointment", GHL_TO_RANKR, "GET /contacts/{contactId}/appointments",
        [
            _rule("title", "title", "trim"),
            _rule("startTime", "starts_at", _DATETIME),
            _rule("endTime", "ends_at", _DATETIME),
            _rule("appointmentStatus", "status", "lower"),
            _rule("calendarId", "calendar_ghl_id"),
            _rule("contactId", "contact_ghl_id"),
        ],
    ),
    "ghl_social_tags": FlowTemplate(
        "HighLevel social tags (polling) → Rankr",
        "social_tag", GHL_TO_RANKR, "GET /social-media-posting/{locationId}/tags",
        [_rule("tag", "name", "trim"), _rule("updatedAt", "tagged_at", _DATETIME)],
    ),
    "ghl_social_tag_details": FlowTemplate(
        "HighLevel tag discovered → Rankr tag details",
        "social_tag_detail", GHL_TO_RANKR, "POST /social-media-posting/{locationId}/tags/details",
        [_rule("tag", "name", "trim"), _rule("$", "details")],
    ),
    "ghl_post_statistics": FlowTemplate(
        "HighLevel posts published → Rankr post statistics",
        "post_statistic", GHL_TO_RANKR, "POST /social-media-posting/statistics",
        [_rule("totals", "metrics", null="default", default={})],
    ),
    "rankr_lead_create": FlowTemplate(
        "New Rankr lead → create HighLevel contact",
        "contact", RANKR_TO_GHL, "POST /contacts/",
        [
            _rule(["first_name", "last_name"], "name", "name_join"),
            _rule("first_name", "firstName", "trim"),
            _rule("last_name", "lastName", "trim"),
            _rule("email", "email", "trim", "lower"),
            _rule("phone", "phone", _step("phone_e164", country="US")),
            _rule("company", "companyName", "trim"),
            _rule("tags", "tags"),
            _rule("source", "source", "trim", null="default", default="Rankr"),
        ],
    ),
    "ghl_contact_task_mirror": FlowTemplate(
        "HighLevel contact task updated → mirror in Rankr",
        "task", GHL_TO_RANKR, "GET /contacts/{contactId}/tasks",
        [
            _rule("contactId", "contact_ghl_id"),
            _rule("title", "title", "trim"),
            _rule("completed", "status", _step(
                "value_map", values={"true": "completed", "false": "open"}
            ), null="default", default="open"),
        ],
    ),
    "rankr_course_import": FlowTemplate(
        "Rankr course data → HighLevel course import",
        "course", RANKR_TO_GHL, "POST /courses/courses-exporter/public/import",
        [_rule("products", "products"), _rule("userId", "userId")],
    ),
}
