"""What the portal knows about one synced entity, as one :class:`Entity` value.

Each entity module (``mappings/entities/<name>.py``) defines ``ENTITY``; the registry
(``mappings/entities/__init__.py``) lists the modules. ``highlevel_fields`` are the HighLevel
names a Rankr→HighLevel rule may target: the request body properties and path parameters of the
entity's HighLevel operations (a test checks each against the official specs in
``specs/highlevel/apps``). HighLevel→Rankr rules target the Rankr record's fields. Fields the sync
fills from the connection (``locationId``, ``companyId``) are left out: a mapping says how data
maps, not where it goes.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rankr.models import RankrRecord

GHL_TO_RANKR = "ghl_to_rankr"
RANKR_TO_GHL = "rankr_to_ghl"
DIRECTIONS = [(GHL_TO_RANKR, "HighLevel → Rankr"), (RANKR_TO_GHL, "Rankr → HighLevel")]

# Targets several rules may write together: their lists are concatenated, in rule order.
LIST_TARGETS = {"customFields", "tags"}

UPSERT = "upsert"
DELETE = "delete"

Rule = dict[str, Any]  # one mapping rule as stored (JSON; mappings.rules checks its shape)
Params = dict[str, Any]  # a HighLevel request's path and query parameters
Body = dict[str, Any] | None  # a HighLevel request's JSON body (None: no body)
PollOverride = dict[
    str, Any
]  # a catalog poll plan's fields a human set (integrations.catalog.polling)


class BaseBody(Protocol):
    """Builds a polled operation's body for one location."""

    def __call__(self, *, location_ghl_id: str) -> dict[str, Any]: ...


class NarrowSince(Protocol):
    """Narrows a polled operation's request to records changed since the watermark."""

    def __call__(self, *, params: Params, body: Body, watermark: str) -> tuple[Params, Body]: ...


@dataclass(frozen=True)
class Fetch:
    """The operation that reads one record by id (for resync): the path parameter that takes the
    id, where the answer keeps the record, and, for records under a contact, the contact's id."""

    operation: str
    id_param: str
    key: str = ""  # the answer's property holding the record ("" = the answer is the record)
    contact_param: str = ""

    def params(self, *, ghl_id: str, contact_ghl_id: str = "") -> dict[str, str]:
        params = {self.id_param: ghl_id}
        if self.contact_param:
            params[self.contact_param] = contact_ghl_id
        return params

    def record(self, data: object) -> dict[str, Any] | None:
        record = data.get(self.key) if self.key and isinstance(data, dict) else data
        return record if isinstance(record, dict) else None


@dataclass(frozen=True)
class EventRoute:
    """What a webhook event type does to its entity's record."""

    entity: str
    action: str
    record_key: str = ""  # where the payload keeps the record ("" = the payload is the record)
    # what the event type says that the payload omits
    implied: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """A webhook event type as an entity module declares it (the route gets the entity's key)."""

    action: str = UPSERT
    record_key: str = ""
    implied: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestShape:
    """How a polled operation's request is built: ``base(location_ghl_id=)`` gives the body
    HighLevel expects; ``since(params=, body=, watermark=)`` narrows it to records changed since
    the watermark (None: the operation lists everything and unchanged records are skipped)."""

    base: BaseBody | None = None
    since: NarrowSince | None = None


# How a location-wide plan learns what changed (see integrations.sync.subscriptions.plans).
INCREMENTAL = "incremental"  # the listing filters by modification time: ask since the mark
LISTING = "listing"  # no modified-since: list location-wide, skip unchanged by fingerprint
FANOUT = "fanout"  # listed only per contact: the contacts changed since the mark, then theirs
HORIZON = "horizon"  # listed per calendar and time window: a rolling horizon, calendars re-listed
PLAN_KINDS = (INCREMENTAL, LISTING, FANOUT, HORIZON)


@dataclass(frozen=True)
class LocationPlan:
    """How one entity is kept equal to HighLevel for a whole location (facts from its docs).

    ``operation``: the listing the plan reads (for ``FANOUT`` the per-contact child listing);
    ``trigger``: the catalog's named trigger a plan subscription carries; ``records``: where the
    answer keeps the records. ``overlap_s``: how far before the mark an incremental ask starts
    (clock skew, same-millisecond writes). ``walk_share``: the share of the day's budget the
    reconciliation walk may spend (it is paced over a longer window rather than exceed it).
    ``fallback``: the plan used while the connection lacks a scope this one needs (per-contact
    polling), with its own operation and records. ``budget``: whose daily budget it spends
    ("location", or "company" for operations keyed by companyId). ``horizon_days``: (past,
    future) days of the rolling horizon. ``calendars``: the operation re-listing calendars.
    """

    kind: str
    trigger: str
    operation: str
    records: str
    overlap_s: int = 0
    walk_share: float = 0.02
    budget: str = "location"
    fallback: "LocationPlan | None" = None
    horizon_days: tuple[int, int] = (30, 90)
    calendars: str = ""
    calendars_records: str = "calendars"
    why: str = ""


@dataclass(frozen=True)
class FlowTemplate:
    """A ready mapping for one flow (PRODUCT.md's "Flows the pages promise")."""

    title: str
    entity: str
    direction: str
    operation_key: str
    rules: list[Rule] = field(default_factory=list)
    null_policy: str = "skip"


def rule(
    source: str | list[str] | None, target: str, *transforms: str | dict[str, Any], **extra: Any
) -> Rule:
    steps = [t if isinstance(t, dict) else {"name": t} for t in transforms]
    return {"source": source, "target": target, "transforms": steps, **extra}


def step(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args}


DATETIME = step("datetime_parse")


@dataclass(frozen=True)
class Entity:
    """Everything the portal knows about one synced entity.

    ``rankr_model``: the Rankr record model (None for payload-only entities, mapped straight into
    HighLevel). ``id_path``: where a HighLevel record keeps its id. ``fetch``: how one record is
    read by id. ``natural_key``: the field by which a record Rankr created (no HighLevel id yet)
    is recognised when HighLevel reports it back. ``poll``: poll-plan overrides per catalog
    trigger name (``integrations.catalog.polling``). ``requests``: request shapes per operation
    key. ``events``: webhook event types carrying it. ``flows``: flow templates using it.
    ``location_plan``: how the whole location's records of it are polled and reconciled.
    ``modified_paths``: where a HighLevel record keeps its modification time (the first present
    wins), what "newer" means when two versions of a record arrive out of order; without one the
    webhook's timestamp is used (``mappings.services.record_changed_at``).
    ``personal_fields``: the HighLevel keys of its records (and of records nesting it) that hold a
    person's data: names, e-mail addresses, phone numbers, addresses, birth dates. The sync log
    masks them in the bodies it keeps (``portal.redact``, registered by ``mappings.apps``).
    """

    key: str
    label: str
    rankr_model: "type[RankrRecord] | None"
    highlevel_fields: tuple[str, ...] = ()
    id_path: str = "id"
    fetch: Fetch | None = None
    natural_key: str = ""
    poll: dict[str, PollOverride] = field(default_factory=dict)
    requests: dict[str, RequestShape] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    flows: dict[str, FlowTemplate] = field(default_factory=dict)
    modified_paths: tuple[str, ...] = ("dateUpdated", "updatedAt")
    location_plan: LocationPlan | None = None
    personal_fields: tuple[str, ...] = ()

    @property
    def rankr_kind(self) -> str | None:
        return self.rankr_model.KIND if self.rankr_model is not None else None

    def rankr_fields(self) -> list[str] | None:
        """Field names of the Rankr side (a record read for Rankr→HighLevel includes its ids)."""
        if self.rankr_model is None:
            return None
        return self.rankr_model.mapped_field_names()

    def targets(self, direction: str) -> list[str] | None:
        """Allowed target fields, or None when anything goes (payload-only entity)."""
        if direction == GHL_TO_RANKR:
            return self.rankr_fields()
        return list(self.highlevel_fields)

    def source_roots(self, direction: str) -> list[str] | None:
        """Allowed first segment of a source path, or None when not checkable."""
        if direction == RANKR_TO_GHL and self.rankr_model is not None:
            return [*self.rankr_model.mapped_field_names(), "id", "ghl_id"]
        return None

    def routes(self) -> dict[str, EventRoute]:
        return {
            event_type: EventRoute(self.key, event.action, event.record_key, event.implied)
            for event_type, event in self.events.items()
        }
