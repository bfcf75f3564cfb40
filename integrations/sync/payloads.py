"""Re-apply a mapping to the records' stored raw payloads: no HighLevel request, no budget.

Every polled, webhook and resync record passes ``mappings.services.mapping_page_apply``, which
keeps its last raw payload (``SourcePayload``: one row per record, replaced when it changes,
removed with the record). A new mapping version (``mapping_save`` queues it) or the mapping
admin's *Re-apply to stored payloads* maps those payloads again through the same path, so records
Rankr holds follow the new rules without waiting for each to change or for a backfill.
"""

from typing import Any

from integrations.sync.inbound import NoMapping
from integrations.sync.targets import mapping_version_find
from mappings.entities import FETCH, GHL_TO_RANKR
from mappings.models import Mapping, MappingVersion, SourcePayload
from mappings.services import mapping_page_apply, mapping_version_latest

PAGE = 500


def payloads_reapply(
    *, location_id: int, entity: str, mapping_id: int | None = None, page: int = PAGE
) -> dict[str, Any]:
    """Map every stored payload of (``location_id``, ``entity``) with the mapping's latest
    version (``mapping_id``, else the one the sync applies), one page per transaction.

    Returns the counts (created, updated, unchanged, stale, quarantined, failed) and the version
    applied. Raises :class:`NoMapping` when there is no HighLevel→Rankr mapping to apply.
    """
    version: MappingVersion | None
    if mapping_id is not None:
        version = mapping_version_latest(mapping_id=mapping_id)
    else:
        fetch = FETCH.get(entity)
        version = mapping_version_find(
            location_id=location_id,
            entity=entity,
            direction=GHL_TO_RANKR,
            operation_keys=(fetch.operation,) if fetch else (),
        )
    if version is None or version.direction != GHL_TO_RANKR:
        raise NoMapping(
            f"No HighLevel → Rankr mapping of {entity} records for this location: "
            "nothing to re-apply.",
            permanent=True,
        )
    totals = {"payloads": 0, "created": 0, "updated": 0, "unchanged": 0, "stale": 0}
    totals |= {"quarantined": 0, "failed": 0}
    after = 0
    stored = SourcePayload.objects.filter(location_id=location_id, entity=entity).order_by("pk")
    while True:
        chunk = list(stored.filter(pk__gt=after).values_list("pk", "payload")[:page])
        if not chunk:
            break
        after = chunk[-1][0]
        result = mapping_page_apply(
            mapping_version=version,
            location_id=location_id,
            records=[payload for _pk, payload in chunk],
            source="reapply",
        )
        totals["payloads"] += len(chunk)
        for name in ("created", "updated", "unchanged", "stale"):
            totals[name] += getattr(result.counts, name)
        totals["quarantined"] += result.quarantined
        totals["failed"] += len(result.failed)
    return {**totals, "mapping_version": version.pk}


def payloads_reapply_mapping(*, mapping_id: int) -> dict[str, Any]:
    """:func:`payloads_reapply` for one mapping's location and entity (the task's entry)."""
    mapping = Mapping.objects.get(pk=mapping_id)
    return payloads_reapply(
        location_id=mapping.location_id, entity=mapping.entity, mapping_id=mapping.pk
    )
