"""What the catalog needs to know about a connection, read from the door's ``Connection``.

This is the only catalog module that reads a Connection row; everything else takes a
:class:`ConnectionInfo`, so the catalog's logic is testable without a database row.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from integrations.catalog.registry import AGENCY, LOCATION
from integrations.ghl.models import Connection
from portal.errors import PortalError
from portal.scoping import queryset_scope


class ConnectionUnavailable(PortalError):
    """The connection does not exist, or is not the user's."""


@dataclass(frozen=True)
class ConnectionInfo:
    id: int
    label: str
    access: str  # LOCATION or AGENCY: the kind of token it holds
    granted_scopes: tuple[str, ...] = ()
    location_id: str = ""  # HighLevel locationId ("" for an agency connection)
    company_id: str = ""  # HighLevel companyId
    mode: str = "sandbox"


def connections_for_user(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Connection]:
    """Connections ``user`` may run operations on: those of locations they may see.

    Agency connections (no location) are visible only to users who see every location.
    """
    queryset = Connection.objects.select_related("location", "agency", "app")
    return queryset_scope(queryset, user=user, location_path="location")


def connection_info(connection: Connection) -> ConnectionInfo:
    """The ConnectionInfo of a Connection row."""
    location = connection.location
    agency = connection.agency if connection.agency_id else getattr(location, "agency", None)
    return ConnectionInfo(
        id=connection.pk,
        label=str(connection),
        access=AGENCY if connection.kind == Connection.Kind.AGENCY else LOCATION,
        granted_scopes=tuple(sorted(connection.scope_set)),
        location_id=getattr(location, "location_id", "") or "",
        company_id=getattr(agency, "company_id", "") or "",
        mode=connection.app.mode,
    )


def connection_info_get(*, connection_id: int, user: Any = None) -> ConnectionInfo:
    """The ConnectionInfo for ``connection_id``, scoped to ``user`` when given."""
    queryset = (
        connections_for_user(user)
        if user is not None
        else Connection.objects.select_related("location__agency", "agency", "app")
    )
    connection = queryset.filter(pk=connection_id).first()
    if connection is None:
        raise ConnectionUnavailable(f"Connection {connection_id} does not exist or is not yours.")
    return connection_info(connection)
