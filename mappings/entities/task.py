"""Tasks: a contact's HighLevel tasks, Rankr's tasks."""

from mappings.entities.base import (
    DATETIME,
    DELETE,
    FANOUT,
    GHL_TO_RANKR,
    LISTING,
    Entity,
    Event,
    Fetch,
    FlowTemplate,
    LocationPlan,
    rule,
    step,
)
from rankr.models import Task

_STATUS = step("value_map", values={"true": "completed", "false": "open"})

ENTITY = Entity(
    key="task",
    label="Task",
    rankr_model=Task,
    highlevel_fields=("contactId", "taskId", "title", "body", "dueDate", "completed", "assignedTo"),
    fetch=Fetch("GET /contacts/{contactId}/tasks/{taskId}", "taskId", "task", "contactId"),
    location_plan=LocationPlan(
        LISTING,
        "Search Location Tasks",
        "POST /locations/{locationId}/tasks/search",
        "tasks",
        walk_share=0.03,
        fallback=LocationPlan(
            FANOUT, "Get Contact Tasks", "GET /contacts/{contactId}/tasks", "tasks"
        ),
        why="Task search lists a location's tasks but has no modified-since filter and no sort "
        "(and no webhook for task edits): list location-wide, skip unchanged by fingerprint, "
        "paced over the window.",
    ),
    events={
        "TaskCreate": Event(),
        # TaskComplete's payload has no `completed` field: the event itself says it.
        "TaskComplete": Event(implied={"completed": True}),
        "TaskDelete": Event(DELETE),
    },
    flows={
        "ghl_task_sync": FlowTemplate(
            "HighLevel task created/updated/completed → Rankr task",
            "task",
            GHL_TO_RANKR,
            "GET /contacts/{contactId}/tasks/{taskId}",
            [
                rule("title", "title", "trim"),
                rule("body", "description"),
                rule("dueDate", "due_date", DATETIME),
                rule("completed", "status", _STATUS, null="default", default="open"),
                rule("contactId", "contact_ghl_id"),
            ],
        ),
        "ghl_contact_task_mirror": FlowTemplate(
            "HighLevel contact task updated → mirror in Rankr",
            "task",
            GHL_TO_RANKR,
            "GET /contacts/{contactId}/tasks",
            [
                rule("contactId", "contact_ghl_id"),
                rule("title", "title", "trim"),
                rule("completed", "status", _STATUS, null="default", default="open"),
            ],
        ),
    },
)
