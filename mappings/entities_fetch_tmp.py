"""What the events need to know about each HighLevel entity, beyond the mapping's entities.

``FETCH``: the operation that reads one record by id (for resync), the path parameter that takes
the id, where the answer keeps the record, and — for records that live under a contact — the
parameter for the contact's id. ``NATURAL_KEYS``: the field by which a record Rankr created (no
HighLevel id yet) is recognised when HighLevel reports it back, so it is not copied twice.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Fetch:
    operation: str
    id_param: str
    key: str = ""  # the answer's property holding the record ("" = the answer is the record)
    contact_param: str = ""

    def params(self, *, ghl_id, contact_ghl_id=""):
        params = {self.id_param: ghl_id}
        if self.contact_param:
            params[self.contact_param] = contact_ghl_id
        return params

    def record(self, data):
        record = data.get(self.key) if self.key and isinstance(data, dict) else data
        return record if isinstance(record, dict) else None


FETCH = {
    "contact": Fetch("GET /contacts/{contactId}", "contactId", "contact"),
    "task": Fetch("GET /contacts/{contactId}/tasks/{taskId}", "taskId", "task", "contactId"),
    "note": Fetch("GET /contacts/{contactId}/notes/{id}", "id", "note", "contactId"),
    "appointment": Fetch("GET /calendars/events/appointments/{eventId}", "eventId", "event"),
    "opportunity": Fetch("GET /opportunities/{id}", "id", "opportunity"),
    "user": Fetch("GET /users/{userId}", "userId"),
}

NATURAL_KEYS = {"contact": "email", "user": "email"}
