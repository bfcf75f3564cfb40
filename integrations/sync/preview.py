"""Preview: a mapping's before and after for one sample record.

The sample is pasted JSON, or fetched by :func:`preview_sample_fetch` (from HighLevel through the
operation catalog and the location's connection, or from Rankr for a Rankr → HighLevel mapping).
"""

import json

from django.core.serializers.json import DjangoJSONEncoder

from mappings.entities import ENTITIES, RANKR_TO_GHL
from mappings.models import Mapping
from mappings.services import MappingError, mapping_apply, mapping_version_latest
from portal.errors import PortalError


class PreviewSampleUnavailable(PortalError):
    """No sample record could be fetched; the message says why and what to do instead."""


def preview_sample_fetch(*, mapping_id):
    """Fetch one real sample record for the mapping.

    HighLevel → Rankr: a record read from the location's HighLevel connection (through the
    operation catalog). Rankr → HighLevel: the location's most recent Rankr record of the entity,
    as the mapping reads it. Raises :class:`PreviewSampleUnavailable` saying why not.
    """
    from integrations.catalog.calls import OperationInvalid, OperationRefused
    from integrations.ghl.errors import GhlError
    from integrations.sync.outbound import rankr_record_dict
    from integrations.sync.samples import sample_record_fetch
    from integrations.sync.targets import EventError

    mapping = Mapping.objects.select_related("location").get(pk=mapping_id)
    entity = ENTITIES[mapping.entity]
    if mapping.direction == RANKR_TO_GHL:
        model = entity.rankr_model
        record = (
            model.objects.filter(location_id=mapping.location_id).order_by("-updated_at").first()
            if model is not None else None
        )
        if record is None:
            raise PreviewSampleUnavailable(
                f"{mapping.location} has no Rankr {entity.label.lower()} yet; paste a sample "
                "record as JSON instead."
            )
        return rankr_record_dict(record)
    try:
        return sample_record_fetch(
            location_id=mapping.location_id, entity=mapping.entity,
            operation_key=mapping.operation_key,
        )
    except (EventError, GhlError, OperationRefused, OperationInvalid) as exc:
        raise PreviewSampleUnavailable(
            f"No sample from HighLevel for {mapping.location}: {exc} Paste a sample record as "
            "JSON instead."
        ) from None


def preview_render(*, mapping_id, sample):
    """Before and after for ``sample`` under the mapping's latest version.

    Returns a dict: ``before`` and ``after`` (pretty JSON text), ``version`` and ``error`` (the
    MappingError message, with ``after`` empty) — never raises for bad data.
    """
    version = mapping_version_latest(mapping_id=mapping_id)
    result = {
        "before": json.dumps(sample, indent=2, sort_keys=True, cls=DjangoJSONEncoder),
        "after": "",
        "version": version,
        "error": "",
    }
    if version is None:
        result["error"] = "This mapping has no saved version yet: save it first."
        return result
    try:
        after = mapping_apply(mapping_version=version, record=sample)
    except MappingError as exc:
        result["error"] = str(exc)
        return result
    result["after"] = json.dumps(after, indent=2, sort_keys=True, cls=DjangoJSONEncoder)
    return result
