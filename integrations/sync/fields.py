"""The fields a mapping rule can read: the operation's response schema and the location's
HighLevel custom fields (read through the catalog, cached per location, refreshable).

The mapping editor offers these as the source-field list. A custom field is offered as
``cf:<id>``, which the editor turns into source ``customFields`` with a ``custom_field`` step.
"""

from collections.abc import Iterator
from typing import Any

from django.core.cache import cache

from integrations.catalog.calls import OperationInvalid, OperationRefused
from integrations.catalog.polling import response_records
from integrations.catalog.services import operation_run
from integrations.catalog.spec_files import SpecDoc
from integrations.ghl.errors import GhlError
from integrations.sync.samples import SAMPLE_LISTS
from integrations.sync.targets import EventError, location_connection_get
from mappings.editor import CUSTOM_FIELD_PREFIX
from mappings.entities import ENTITIES, RANKR_TO_GHL
from mappings.limits import rankr_field
from portal.models import Location

CUSTOM_FIELDS_OPERATION = "GET /locations/{locationId}/customFields"
CUSTOM_FIELDS_TTL = 60 * 60  # an hour; "Refresh HighLevel fields" reads them again at once
SCHEMA_DEPTH = 2


def _cache_key(location_id: int) -> str:
    return f"mappings:custom-fields:{location_id}"


def location_custom_fields(*, location_id: int, refresh: bool = False) -> list[dict[str, Any]]:
    """The location's HighLevel custom fields as ``[{"id", "name", "fieldKey", "dataType"}]``.

    Cached for an hour per location; ``refresh`` reads them again. Raises the catalog's and the
    door's errors (``EventError`` when the location has no connection).
    """
    key = _cache_key(location_id)
    if not refresh:
        cached = cache.get(key)
        if cached is not None:
            return list(cached)
    connection = location_connection_get(location_id=location_id)
    location = Location.objects.get(pk=location_id)
    response = operation_run(
        connection_id=connection.pk,
        operation_id=CUSTOM_FIELDS_OPERATION,
        params={"locationId": location.location_id},
    )
    data = response.data if isinstance(response.data, dict) else {}
    fields = [
        {k: item.get(k) for k in ("id", "name", "fieldKey", "dataType")}
        for item in data.get("customFields") or []
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]
    cache.set(key, fields, CUSTOM_FIELDS_TTL)
    return fields


def _schema_paths(
    schema: SpecDoc | None, prefix: str = "", depth: int = 0
) -> Iterator[tuple[str, str]]:
    for name, sub in ((schema or {}).get("properties") or {}).items():
        path = f"{prefix}{name}"
        description = (sub.get("description") or "").strip().split("\n")[0][:60]
        yield (
            path,
            f"{path} ({sub.get('type', 'value')})" + (f": {description}" if description else ""),
        )
        if sub.get("type") == "object" and depth + 1 < SCHEMA_DEPTH:
            yield from _schema_paths(sub, f"{path}.", depth + 1)


def _operation_fields(entity: str, operation_key: str) -> tuple[list[tuple[str, str]], str]:
    for key in (operation_key, *SAMPLE_LISTS.get(entity, ())):
        if not key:
            continue
        try:
            _path, item = response_records(operation_key=key)
        except KeyError:
            continue
        paths = list(_schema_paths(item))
        if paths:
            return paths, key
    return [], ""


def mapping_source_fields(
    *,
    entity: str,
    direction: str,
    operation_key: str,
    location_id: int | None,
    refresh: bool = False,
) -> tuple[list[tuple[str, str]], str]:
    """(choices, note): the source fields a rule may read, as (value, label) pairs, and a line
    saying where they came from (or why custom fields are missing)."""
    spec = ENTITIES.get(entity)
    if spec is None:
        return [], ""
    if direction == RANKR_TO_GHL:
        if spec.rankr_model is None:
            return [], ""
        model = spec.rankr_model
        choices = [
            (name, f"{str(rankr_field(model, name).verbose_name).capitalize()} ({name})")
            for name in model.mapped_field_names()
        ]
        return choices + [("id", "Rankr id (id)"), ("ghl_id", "HighLevel id (ghl_id)")], ""
    choices, used = _operation_fields(entity, operation_key)
    notes = [f"Fields from the response of {used}." if used else "No response schema to list."]
    if location_id is not None and entity == "contact":
        try:
            custom = location_custom_fields(location_id=location_id, refresh=refresh)
        except (EventError, GhlError, OperationRefused, OperationInvalid) as exc:
            notes.append(f"Custom fields could not be read: {exc}")
        else:
            choices += [
                (
                    f"{CUSTOM_FIELD_PREFIX}{f['id']}",
                    f"Custom field: {f.get('name') or f.get('fieldKey') or f['id']}",
                )
                for f in custom
            ]
            notes.append(
                f"{len(custom)} custom field{'s' if len(custom) != 1 else ''} of the "
                "location (cached for an hour)."
            )
    return choices, " ".join(notes)
