"""A real sample record for a mapping's preview, read from the location's HighLevel connection.

Tries the mapping's own operation, then the entity's usual list operation; an operation whose
path needs a contact id is given the ids of the location's first contacts. At most a handful of
calls, all through ``operation_pages`` / ``operation_run``.
"""

from integrations.catalog.paging import page_items
from integrations.catalog.registry import operation_get
from integrations.catalog.services import operation_pages, operation_run
from integrations.sync.targets import EventError, location_connection_get

LIST_CONTACTS = "GET /contacts/"
CONTACTS_TRIED = 3
SAMPLE_LISTS = {
    "contact": (LIST_CONTACTS,),
    "task": ("GET /contacts/{contactId}/tasks",),
    "note": ("GET /contacts/{contactId}/notes",),
    "appointment": ("GET /contacts/{contactId}/appointments",),
    "opportunity": ("GET /opportunities/search",),
    "user": ("GET /users/",),
    "workflow": ("GET /workflows/",),
}
CONNECTION_FILLS = {"locationId"}


class SampleUnavailable(EventError):
    pass


def _single(data):
    """The one record of a get-one answer (``{"contact": {...}}`` or the record itself)."""
    if not isinstance(data, dict):
        return None
    inner = [v for v in data.values() if isinstance(v, dict) and ("id" in v or "_id" in v)]
    if len(inner) == 1:
        return inner[0]
    return data if ("id" in data or "_id" in data) else None


def _first(*, connection_id, key, params):
    if operation_get(key).paging.style != "none":
        response = next(operation_pages(
            connection_id=connection_id, operation_id=key, params=params, limit=CONTACTS_TRIED,
            max_pages=1,
        ))
    else:
        response = operation_run(connection_id=connection_id, operation_id=key, params=params)
    items = page_items(response.data)
    if items:
        return items[0] if isinstance(items[0], dict) else None
    return _single(response.data)


def _contact_ids(connection_id):
    response = next(operation_pages(
        connection_id=connection_id, operation_id=LIST_CONTACTS, limit=CONTACTS_TRIED, max_pages=1
    ))
    return [c["id"] for c in page_items(response.data) if isinstance(c, dict) and c.get("id")]


def sample_record_fetch(*, location_id, entity, operation_key=""):
    """One HighLevel record of ``entity`` at the location; raises SampleUnavailable saying why."""
    connection = location_connection_get(location_id=location_id)
    keys = list(dict.fromkeys(k for k in (operation_key, *SAMPLE_LISTS.get(entity, ())) if k))
    contact_ids = None
    for key in keys:
        try:
            operation = operation_get(key)
        except KeyError:
            continue
        needed = {p.name for p in operation.form_params if p.location == "path"} - CONNECTION_FILLS
        if operation.method != "GET" or not needed <= {"contactId"}:
            continue
        if not needed:
            found = _first(connection_id=connection.pk, key=key, params={})
            if found:
                return found
            continue
        if contact_ids is None:
            contact_ids = _contact_ids(connection.pk)
        for contact_id in contact_ids[:CONTACTS_TRIED]:
            found = _first(connection_id=connection.pk, key=key, params={"contactId": contact_id})
            if found:
                return found
    if not keys:
        raise SampleUnavailable(f"No HighLevel operation is known to list {entity} records.")
    raise SampleUnavailable(f"HighLevel returned no {entity} record to use ({', '.join(keys)}).")
