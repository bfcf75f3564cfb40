"""A real sample record for a mapping's preview, read from the location's HighLevel connection.

Contacts are found with ``POST /contacts/search`` (HighLevel deprecates ``GET /contacts/``), then
read with the mapping's own operation when that reads one contact (``GET /contacts/{contactId}``),
so the sample has exactly the shape the flow will see. Other entities use the mapping's operation,
then the entity's usual list; an operation whose path needs a contact id is given the ids of the
location's first contacts. The records of an answer are found where the operation's response
schema puts them (``contact``, ``tasks``, ...), never in a list nested inside a record (a
contact's ``customFields``). At most a handful of calls, all through the catalog.
"""

from typing import Any

from integrations.catalog.polling import plan_records, response_records
from integrations.catalog.registry import operation_get
from integrations.catalog.services import operation_pages, operation_run
from integrations.ghl.models import Connection
from integrations.sync.targets import EventError, location_connection_get

SEARCH_CONTACTS = "POST /contacts/search"
CONTACTS_TRIED = 3
SAMPLE_LISTS: dict[str, tuple[str, ...]] = {
    "contact": (SEARCH_CONTACTS,),
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


class _Where:
    def __init__(self, records: str) -> None:
        self.records = records


def answer_records(*, operation_key: str, data: object) -> list[dict[str, Any]]:
    """The records of one answer of ``operation_key``, found where its response schema says."""
    path, _item = response_records(operation_key=operation_key)
    if not path and isinstance(data, list):
        return [r for r in data if isinstance(r, dict)]
    found = plan_records(_Where(path), data)
    if not path and found == [data] and isinstance(data, dict):
        # No schema to go by: a wrapper holding exactly one record ({"contact": {...}}).
        inner = [v for v in data.values() if isinstance(v, dict) and ("id" in v or "_id" in v)]
        if len(inner) == 1:
            return inner
        if not ("id" in data or "_id" in data):
            return []
    return [r for r in found if isinstance(r, dict)]


def _search_body(connection: Connection) -> dict[str, Any]:
    if connection.location is None:  # location_connection_get gives location connections only
        raise SampleUnavailable(f"Connection {connection.pk} is not a location's.")
    return {"locationId": connection.location.location_id}


def _records(*, connection: Connection, key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    operation = operation_get(key)
    body = _search_body(connection) if key == SEARCH_CONTACTS else None
    if operation.paging.style != "none":
        response = next(
            operation_pages(
                connection_id=connection.pk,
                operation_id=key,
                params=params,
                body=body,
                limit=CONTACTS_TRIED,
                max_pages=1,
            )
        )
    else:
        response = operation_run(
            connection_id=connection.pk, operation_id=key, params=params, body=body
        )
    return answer_records(operation_key=key, data=response.data)


def _contact_ids(connection: Connection) -> list[str]:
    found = _records(connection=connection, key=SEARCH_CONTACTS, params={})
    return [c["id"] for c in found if isinstance(c.get("id"), str) and c["id"]]


def sample_record_fetch(
    *, location_id: int, entity: str, operation_key: str = ""
) -> dict[str, Any]:
    """One HighLevel record of ``entity`` at the location; raises SampleUnavailable saying why."""
    connection = location_connection_get(location_id=location_id)
    keys = list(dict.fromkeys(k for k in (operation_key, *SAMPLE_LISTS.get(entity, ())) if k))
    contact_ids: list[str] | None = None
    tried: list[str] = []
    for key in keys:
        try:
            operation = operation_get(key)
        except KeyError:
            continue
        needed = {p.name for p in operation.form_params if p.location == "path"} - CONNECTION_FILLS
        readable = operation.method == "GET" or key in (
            SEARCH_CONTACTS,
            "GET /opportunities/search",
        )
        if not readable or not needed <= {"contactId"}:
            continue
        tried.append(key)
        if not needed:
            found = _records(connection=connection, key=key, params={})
            if found:
                return found[0]
            continue
        if contact_ids is None:
            contact_ids = _contact_ids(connection)
        for contact_id in contact_ids[:CONTACTS_TRIED]:
            found = _records(connection=connection, key=key, params={"contactId": contact_id})
            if found:
                return found[0]
    if not keys:
        raise SampleUnavailable(f"No HighLevel operation is known to list {entity} records.")
    raise SampleUnavailable(
        f"HighLevel returned no {entity} record to use ({', '.join(tried or keys)})."
    )
