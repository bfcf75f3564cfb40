"""Appointments: HighLevel calendar events, Rankr's appointments."""

from mappings.entities.base import (
    DATETIME,
    DELETE,
    FANOUT,
    GHL_TO_RANKR,
    HORIZON,
    Entity,
    Event,
    Fetch,
    FlowTemplate,
    LocationPlan,
    rule,
)
from rankr.models import Appointment

ENTITY = Entity(
    key="appointment",
    label="Appointment",
    rankr_model=Appointment,
    highlevel_fields=(
        "eventId",
        "calendarId",
        "contactId",
        "title",
        "appointmentStatus",
        "startTime",
        "endTime",
        "assignedUserId",
        "address",
    ),
    fetch=Fetch("GET /calendars/events/appointments/{eventId}", "eventId", "event"),
    location_plan=LocationPlan(
        HORIZON,
        "List Calendar Events",
        "GET /calendars/events",
        "events",
        overlap_s=3600,
        walk_share=0.01,
        horizon_days=(30, 90),
        calendars="GET /calendars/",
        fallback=LocationPlan(
            FANOUT, "Get Contact Appointments", "GET /contacts/{contactId}/appointments", "events"
        ),
        why="Calendar events need a calendar and a window by start time, and edits to future "
        "appointments move no mark: every run re-lists the calendars and asks each for the "
        "horizon from the checkpoint's day to the future bound; the walk asks for the whole "
        "horizon (past and future days, in the location's time zone).",
    ),
    events={
        "AppointmentCreate": Event(record_key="appointment"),
        "AppointmentUpdate": Event(record_key="appointment"),
        "AppointmentDelete": Event(DELETE, record_key="appointment"),
    },
    flows={
        "ghl_contact_appointments": FlowTemplate(
            "HighLevel meeting scheduled → Rankr appointment",
            "appointment",
            GHL_TO_RANKR,
            "GET /contacts/{contactId}/appointments",
            [
                rule("title", "title", "trim"),
                rule("startTime", "starts_at", DATETIME),
                rule("endTime", "ends_at", DATETIME),
                rule("appointmentStatus", "status", "lower"),
                rule("calendarId", "calendar_ghl_id"),
                rule("contactId", "contact_ghl_id"),
            ],
        ),
    },
)
