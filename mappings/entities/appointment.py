"""Appointments: HighLevel calendar events, Rankr's appointments."""

from mappings.entities.base import (
    DATETIME,
    DELETE,
    GHL_TO_RANKR,
    Entity,
    Event,
    Fetch,
    FlowTemplate,
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
