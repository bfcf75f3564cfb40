"""Scoping: the one place that decides which agencies and locations a user may see.

The agency is the tenant. Every query is scoped by agency first, then by location:

- superusers, and members of the "Platform operator" group when ``PLATFORM_OPERATORS_ENABLED`` is
  on (it is off by default), span every agency;
- auditors and support (``portal.view_agency_locations``) see every location of the agencies they
  are members of (``Agency.members``), and nothing of any other agency;
- agency staff see the locations they are assigned to (``Location.staff``), all in one agency.

Every admin of location-owned data applies it through ``portal.admin_scoping``, so a user never
sees, lists, exports or acts on a location outside their scope, page by page or by URL.
"""

from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Model, Q, QuerySet

from portal.models import Agency, Location

VIEW_ALL_PERMISSION = "portal.view_all_locations"
VIEW_AGENCY_PERMISSION = "portal.view_agency_locations"


def _signed_in(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active)


M = TypeVar("M", bound=Model)


def user_sees_all_locations(user: Any) -> bool:
    """Whether ``user`` spans every agency: a superuser, or a platform operator when enabled."""
    if not _signed_in(user):
        return False
    if user.is_superuser:
        return True
    return bool(settings.PLATFORM_OPERATORS_ENABLED and user.has_perm(VIEW_ALL_PERMISSION))


def _member_agencies(user: Any) -> QuerySet[Agency]:
    """The agencies whose every location ``user`` sees (auditors and support, as members)."""
    if not user.has_perm(VIEW_AGENCY_PERMISSION):
        return Agency.objects.none()
    return Agency.objects.filter(members=user)


def locations_for_user(user: Any) -> QuerySet[Location]:
    """The locations ``user`` may see."""
    if not _signed_in(user):
        return Location.objects.none()
    if user_sees_all_locations(user):
        return Location.objects.all()
    # Semi-joins (IN subqueries), never a join: no duplicate rows, so no DISTINCT.
    return Location.objects.filter(
        Q(agency__in=_member_agencies(user).values("pk"))
        | Q(pk__in=Location.objects.filter(staff=user).values("pk"))
    )


def agencies_for_user(user: Any) -> QuerySet[Agency]:
    """The agencies ``user`` may see: every one, or those they belong to or have locations in."""
    if not _signed_in(user):
        return Agency.objects.none()
    if user_sees_all_locations(user):
        return Agency.objects.all()
    return Agency.objects.filter(
        Q(pk__in=locations_for_user(user).values("agency_id"))
        | Q(pk__in=_member_agencies(user).values("pk"))
    )


def agencies_whole_for_user(user: Any) -> QuerySet[Agency]:
    """The agencies whose agency-level records (agency connections, location batches) ``user``
    may see: those whose every location they see. Staff, who see some locations, see none."""
    if not _signed_in(user):
        return Agency.objects.none()
    if user_sees_all_locations(user):
        return Agency.objects.all()
    return Agency.objects.filter(pk__in=_member_agencies(user).values("pk"))


def user_agencies_other(*, user: Any, agency_id: int) -> bool:
    """Whether ``user`` is assigned to a location of, or a member of, an agency other than
    ``agency_id`` (staff are assigned within one agency)."""
    return (
        Location.objects.filter(staff=user).exclude(agency_id=agency_id).exists()
        or Agency.objects.filter(members=user).exclude(pk=agency_id).exists()
    )


def queryset_scope(
    queryset: QuerySet[M], *, user: Any, location_path: str, fallback_path: str = ""
) -> QuerySet[M]:
    """Restrict ``queryset`` to rows whose location (reached by ``location_path``) ``user`` may see.

    ``location_path`` is the ORM path from the model to its ``Location`` ("" for Location itself).
    ``fallback_path`` is where a row without a location of its own finds one (a sync-log row of a
    token refresh: its connection's location).
    """
    if user_sees_all_locations(user):
        return queryset
    if not _signed_in(user):
        return queryset.none()
    # A semi-join (IN subquery) rather than a join through the staff table: no duplicate rows,
    # so no DISTINCT, which on a big log table would sort every matching row before the first page.
    lookup = f"{location_path}__in" if location_path else "pk__in"
    visible = locations_for_user(user).values("pk")
    if fallback_path:
        return queryset.filter(
            Q(**{lookup: visible})
            | Q(**{f"{location_path}__isnull": True, f"{fallback_path}__in": visible})
        )
    return queryset.filter(**{lookup: visible})


def queryset_scope_agency(queryset, *, user, agency_path, whole=False):
    """Restrict ``queryset`` to rows of agencies ``user`` may see (``agency_path`` leads from the
    model to its ``Agency``). ``whole`` keeps only agencies whose every location they see."""
    if user_sees_all_locations(user):
        return queryset
    if not _signed_in(user):
        return queryset.none()
    agencies = agencies_whole_for_user(user) if whole else agencies_for_user(user)
    return queryset.filter(**{f"{agency_path}__in": agencies.values("pk")})
