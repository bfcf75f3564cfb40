"""Which connection and which mapping serve a location: the lookups every event needs."""

from collections.abc import Sequence

from integrations.ghl.models import Connection
from integrations.sync.models import Job
from mappings.models import Mapping, MappingVersion
from mappings.services import mapping_version_latest
from portal.errors import PortalError
from portal.models import Location


class EventError(PortalError):
    """An event cannot be processed as configured; the message says what to set up."""


def job_location_id(job: Job) -> int:
    """The location a location-scoped job runs for (every such job is made with one)."""
    if job.location_id is None:
        raise EventError(f"Job {job.pk} ({job.kind}) names no location.")
    return job.location_id


def location_connection_get(*, location_id: int) -> Connection:
    """The location's active location-level connection (newest first)."""
    connection = (
        Connection.objects.filter(
            location_id=location_id, kind=Connection.Kind.LOCATION, status=Connection.Status.ACTIVE
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    if connection is None:
        location = Location.objects.filter(pk=location_id).first()
        raise EventError(
            f"{location or f'Location {location_id}'} has no active HighLevel connection: "
            "connect it from the admin."
        )
    return connection


def mapping_version_find(
    *, location_id: int, entity: str, direction: str, operation_keys: Sequence[str] = ()
) -> MappingVersion | None:
    """The latest version of the location's mapping for ``entity`` in ``direction``, or None.

    When several mappings match (e.g. one per HighLevel operation), the first of
    ``operation_keys`` that has one wins, then the oldest mapping: a stable choice.
    """
    mappings = list(  # (pk, operation key): their rules are not read here
        Mapping.objects.filter(location_id=location_id, entity=entity, direction=direction)
        .order_by("pk")
        .values_list("pk", "operation_key")
    )
    for key in operation_keys:
        for mapping_id, operation_key in mappings:
            if operation_key == key:
                return mapping_version_latest(mapping_id=mapping_id)
    for mapping_id, _key in mappings:
        version = mapping_version_latest(mapping_id=mapping_id)
        if version is not None:
            return version
    return None
