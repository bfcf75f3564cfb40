"""Preview: a mapping's before and after for one sample record.

The sample is pasted JSON, or fetched from HighLevel by :func:`preview_sample_fetch` — the one
place the real fetch gets wired (through the operation catalog and the location's connection).
"""

import json

from django.core.serializers.json import DjangoJSONEncoder

from mappings.models import Mapping
from mappings.services import MappingError, mapping_apply, mapping_version_latest


class PreviewSampleUnavailable(Exception):
    """No sample record could be fetched; the message says why and what to do instead."""


def preview_sample_fetch(*, mapping_id):
    """Fetch one real sample record for the mapping from its location's HighLevel connection.

    Not wired yet: the HighLevel side (connections and the operation catalog) plugs in here.
    """
    mapping = Mapping.objects.select_related("location").get(pk=mapping_id)
    raise PreviewSampleUnavailable(
        f"No HighLevel connection is available to fetch a sample for {mapping.location}; "
        "paste a sample record as JSON instead."
    )


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
