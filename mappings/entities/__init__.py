"""The registry of synced entities: one module per entity, listed in ``ENTITY_MODULES``.

Each module (``contact.py``, ``task.py``, ...) defines ``ENTITY``: its Rankr model, HighLevel id
path and fields, the fetch operation, poll-plan overrides, request shapes, webhook event types,
natural key and flow templates (see :class:`~mappings.entities.base.Entity`). Adding an entity
means writing its module, adding it below, and its Rankr model: nothing else. The tables other
code reads (``ENTITIES``, ``FETCH``, ``ROUTES``, ...) are views of this list, computed on use.
"""

from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

from mappings.entities import (
    appointment,
    contact,
    course,
    note,
    opportunity,
    post_statistic,
    social_tag,
    social_tag_detail,
    task,
    user,
    workflow,
)
from mappings.entities.base import (
    DELETE,
    DIRECTIONS,
    FANOUT,
    GHL_TO_RANKR,
    HORIZON,
    INCREMENTAL,
    LIST_TARGETS,
    LISTING,
    PLAN_KINDS,
    RANKR_TO_GHL,
    UPSERT,
    Entity,
    EventRoute,
    Fetch,
    FlowTemplate,
    LocationPlan,
    RequestShape,
)

__all__ = [
    "DELETE",
    "DIRECTIONS",
    "ENTITIES",
    "ENTITY_CHOICES",
    "ENTITY_MODULES",
    "FANOUT",
    "FETCH",
    "FLOW_TEMPLATES",
    "GHL_TO_RANKR",
    "HORIZON",
    "INCREMENTAL",
    "LISTING",
    "LIST_TARGETS",
    "LOCATION_PLANS",
    "NATURAL_KEYS",
    "PLAN_KINDS",
    "POLL_OVERRIDES",
    "RANKR_TO_GHL",
    "REQUEST_SHAPES",
    "ROUTES",
    "UPSERT",
    "Entity",
    "EventRoute",
    "Fetch",
    "FlowTemplate",
    "LocationPlan",
    "RegistryView",
    "RequestShape",
    "entities_all",
    "entity_choices",
]

ENTITY_MODULES = [
    contact,
    task,
    note,
    appointment,
    user,
    opportunity,
    social_tag,
    social_tag_detail,
    post_statistic,
    workflow,
    course,
]


def entities_all() -> dict[str, Entity]:
    """Every registered entity by key, in registry order."""
    return {module.ENTITY.key: module.ENTITY for module in ENTITY_MODULES}


V = TypeVar("V")


class RegistryView(Mapping[str, V]):
    """A read-only table derived from the registry, rebuilt when the registry changes."""

    def __init__(self, build: Callable[[dict[str, Entity]], dict[str, V]]) -> None:
        self._build = build
        self._seen: tuple[object, ...] = ()
        self._table: dict[str, V] = {}

    def _current(self) -> dict[str, V]:
        seen = tuple(ENTITY_MODULES)
        if seen != self._seen:
            self._table, self._seen = self._build(entities_all()), seen
        return self._table

    def __getitem__(self, key: str) -> V:
        return self._current()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())

    def __repr__(self) -> str:
        return f"RegistryView({self._current()!r})"


def entity_choices() -> list[tuple[str, str]]:
    """Choices for a mapping's entity (a callable: the list follows the registry)."""
    return [(key, entity.label) for key, entity in entities_all().items()]


ENTITIES = RegistryView(lambda entities: entities)
FETCH = RegistryView(lambda entities: {k: e.fetch for k, e in entities.items() if e.fetch})
NATURAL_KEYS = RegistryView(
    lambda entities: {k: e.natural_key for k, e in entities.items() if e.natural_key}
)
ROUTES = RegistryView(
    lambda entities: {t: r for e in entities.values() for t, r in e.routes().items()}
)
POLL_OVERRIDES = RegistryView(
    lambda entities: {t: o for e in entities.values() for t, o in e.poll.items()}
)
REQUEST_SHAPES = RegistryView(
    lambda entities: {op: s for e in entities.values() for op, s in e.requests.items()}
)
FLOW_TEMPLATES = RegistryView(
    lambda entities: {k: t for e in entities.values() for k, t in e.flows.items()}
)
LOCATION_PLANS = RegistryView(
    lambda entities: {k: e.location_plan for k, e in entities.items() if e.location_plan}
)
ENTITY_CHOICES = entity_choices  # the old name: a callable now
