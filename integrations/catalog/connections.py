"""What the catalog needs to know about a connection, read from ``integrations.models.Connection``.

This is the only catalog module that touches the Connection model (built in the connections
work); everything else takes a :class:`ConnectionInfo`, so the catalog's logic is testable without
a database row and the model can evolve behind this seam.
"""

from dataclasses import dataclass
from typing import Any

from django.apps import apps

from portal.scoping import queryset_scope
from integrations.catalog.registry import AGENCY, LOCATION


class ConnectionUnavailable(Exception):
    """The connection does not exist, or connections are not installed yet."""


@dataclass(frozen=True)
class ConnectionInfo:
    id: int
    label: str
    access: str  # LOCATION or AGENCY: the kind of token it holds
    granted_scopes: tuple[str, ...] = ()
    location_id: str = ""  # HighLevel locationId ("" for an agency connection)
    company_id: str = ""  # HighLevel companyId
    mode: str = "sandbox"


def connection_model():
    try:
        return apps.get_model("integrations", "Connection")
    except LookupError:
        raise ConnectionUnavailable(
            "Connections are not installed (integrations.models.Connection is missing)."
        ) from None


def connections_for_user(user):
    """Connections ``user`` may run operations on: those of locations they may see.

    Agency connections (no location) are visible only to users who see every location.
    """
    model = connection_model()
    related = [f for f in ("location", "agency", "app") if _has_field(model, f)]
    queryset = model.objects.select_related(*related)
    return queryset_scope(queryset, user=user, location_path="location")


def _has_field(model, name):
    return any(f.name == name for f in model._meta.get_fields())


def connection_info(connection: Any) -> ConnectionInfo:
    """ConnectionInfo from a Connection row (``kind``, ``scopes`` and ``app.mode`` as the
    connections work defines them; ``granted_scopes`` accepted too)."""
    location = getattr(connection, "location", None)
    agency = getattr(connection, "agency", None) or getattr(location, "agency", None)
    kind = getattr(connection, "kind", "") or (LOCATION if location is not None else AGENCY)
    scopes = getattr(connection, "scope_set", None)
    if scopes is None:
        scopes = getattr(connection, "granted_scopes", None) or ()
    app = getattr(connection, "app", None)
    return ConnectionInfo(
        id=connection.pk,
        label=str(connection),
        access=AGENCY if kind == AGENCY else LOCATION,
        granted_scopes=tuple(sorted(scopes)),
        location_id=getattr(location, "location_id", "") or "",
        company_id=getattr(agency, "company_id", "") or "",
        mode=getattr(app, "mode", "") or getattr(connection, "mode", "") or "",
    )


def connection_info_get(*, connection_id: int, user: Any = None) -> ConnectionInfo:
    """The ConnectionInfo for ``connection_id``, scoped to ``user`` when given."""
    model = connection_model()
    queryset = connections_for_user(user) if user is not None else model.objects.all()
    connection = queryset.filter(pk=connection_id).first()
    if connection is None:
        raise ConnectionUnavailable(f"Connection {connection_id} does not exist or is not yours.")
    return connection_info(connection)
