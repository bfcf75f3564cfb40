"""How each polling trigger polls: operation, parameters, where the records are, what marks a change.

A plan is derived from the operation's spec (its parameters, paging and 200-response schema) so it
cannot drift from the contract; ``POLL_OVERRIDES`` records the few places a human decided otherwise:
each entity module's ``poll`` (mappings/entities/), and below, triggers no synced entity owns.

Change detection: a record whose schema carries a modification time is compared by that field
(``change_key`` = e.g. ``dateUpdated``); otherwise by ``id`` plus a fingerprint (hash) of the
record (``change_key`` = ``fingerprint``).
"""

from dataclasses import dataclass
from typing import Any, Protocol

from integrations.catalog.named import TRIGGER, NamedOperation, named_all
from integrations.catalog.paging import Paging
from integrations.catalog.registry import operation_get
from integrations.catalog.spec_files import SpecDoc
from mappings.entities import POLL_OVERRIDES as ENTITY_POLL_OVERRIDES
from mappings.entities.base import PollOverride

FINGERPRINT = "fingerprint"
CHANGE_FIELDS = ("dateUpdated", "updatedAt", "dateModified", "lastUpdated", "updated_at")
ID_FIELDS = ("id", "_id")
# Parameters the connection fills in (its location or company), never asked of the user.
CONNECTION_PARAMS = {"locationId", "location_id", "altId", "altType", "companyId"}
# Time windows a poll run fills from its last run (start) and now (end).
WINDOW_PARAMS = {"startTime", "endTime", "startDate", "endDate", "startAt", "endAt"}

CATALOG_POLL_OVERRIDES: dict[str, PollOverride] = {
    # Messages of a conversation are immutable once sent: new ids are the change.
    "Get Messages by Conversation": {"change_key": FINGERPRINT},
}


def poll_override(trigger: str) -> PollOverride:
    """What a human decided about a trigger's plan: its entity's word, else the catalog's."""
    return ENTITY_POLL_OVERRIDES.get(trigger) or CATALOG_POLL_OVERRIDES.get(trigger, {})


@dataclass(frozen=True)
class PollPlan:
    trigger: str
    operation: str  # registry key
    params: tuple[str, ...]  # required parameters the trigger's configuration supplies
    connection_params: tuple[str, ...]  # filled from the connection
    window_params: tuple[str, ...]  # filled from the run's time window
    records: str  # dotted path to the records in the answer ("" = the answer itself)
    record_id: str
    change_key: str
    paging: Paging


def poll_plan(named: NamedOperation) -> PollPlan:
    """The plan for one named polling trigger."""
    if named.kind != TRIGGER:
        raise ValueError(f"{named.name!r} is an action, not a polling trigger.")
    op = operation_get(named.key)
    required = [p.name for p in op.form_params if p.required]
    records, item = _records_path(op.response_schema or {})
    props = (item or {}).get("properties") or {}
    change_key = next((f for f in CHANGE_FIELDS if f in props), FINGERPRINT)
    record_id = next((f for f in ID_FIELDS if f in props), "")
    override = poll_override(named.name)
    return PollPlan(
        trigger=named.name,
        operation=op.key,
        params=tuple(
            n
            for n in required
            if n not in CONNECTION_PARAMS
            and n not in WINDOW_PARAMS
            and n not in op.paging.cursor_params
            and n != op.paging.limit_param
        ),
        connection_params=tuple(p.name for p in op.form_params if p.name in CONNECTION_PARAMS),
        window_params=tuple(n for n in required if n in WINDOW_PARAMS),
        records=override.get("records", records),
        record_id=override.get("record_id", record_id),
        change_key=override.get("change_key", change_key),
        paging=op.paging,
    )


def poll_plans() -> dict[str, PollPlan]:
    return {n.name: poll_plan(n) for n in named_all() if n.kind == TRIGGER}


def _records_path(schema: SpecDoc) -> tuple[str, SpecDoc]:
    """(dotted path, item schema) of the records in a 200 answer.

    A list answer's records are its first array of objects, at the top or inside a wrapper object
    without an id (``messages.messages``); a single-record answer's record is its one object
    property with an id (``contact``), or the answer itself.
    """
    props = schema.get("properties") or {}
    if any(f in props for f in ID_FIELDS):
        return "", schema
    for name, sub in props.items():
        if _is_record_array(sub):
            return name, sub["items"]
    singles: list[tuple[str, SpecDoc]] = []
    for name, sub in props.items():
        inner = sub.get("properties") or {}
        if name == "meta" or not inner:
            continue
        if any(f in inner for f in ID_FIELDS):
            singles.append((name, sub))
            continue
        for inner_name, leaf in inner.items():
            if _is_record_array(leaf):
                return f"{name}.{inner_name}", leaf["items"]
    if len(singles) == 1:
        return singles[0]
    return "", schema


def _is_record_array(schema: SpecDoc) -> bool:
    return schema.get("type") == "array" and bool((schema.get("items") or {}).get("properties"))


class RecordsAt(Protocol):
    """Anything saying where an answer keeps its records (a :class:`PollPlan`, a sample)."""

    @property
    def records(self) -> str: ...


def plan_records(plan: RecordsAt, data: Any) -> list[Any]:
    """The records of one answer, found at ``plan.records`` (a single record comes back as [it])."""
    node = data
    for part in plan.records.split(".") if plan.records else []:
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        return []
    return node if isinstance(node, list) else [node]


def response_records(*, operation_key: str) -> tuple[str, SpecDoc]:
    """(dotted path, item schema) of the records in the operation's 200 answer, from its spec.

    ``POST /contacts/search`` has no 200 schema in the spec: its records are under ``contacts``.
    """
    op = operation_get(operation_key)
    if op.key == "POST /contacts/search":
        contact = operation_get("GET /contacts/{contactId}").response_schema or {}
        return "contacts", _records_path(contact)[1]
    return _records_path(op.response_schema or {})
