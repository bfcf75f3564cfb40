"""Location scoping: the one place that decides which locations a user may see.

Every admin of location-owned data applies it through ``portal.admin_scoping``, so a staff member
assigned to locations A and B never sees, lists, exports or acts on C, page by page or by URL.
"""

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from portal.models import Agency, Location

VIEW_ALL_PERMISSION = "portal.view_all_locations"

M = TypeVar("M", bound=Model)


def user_sees_all_locations(user: Any) -> bool:
    return user.is_active and (user.is_superuser or user.has_perm(VIEW_ALL_PERMISSION))


def locations_for_user(user: Any) -> QuerySet[Location]:
    """The locations ``user`` may see."""
    if not user.is_authenticated or not user.is_active:
        return Location.objects.none()
    if user_sees_all_locations(user):
        return Location.objects.all()
    return Location.objects.filter(staff=user)


def agencies_for_user(user: Any) -> QuerySet[Agency]:
    """The agencies ``user`` may see: every one, or those of the locations they are assigned to."""
    if not user.is_authenticated or not user.is_active:
        return Agency.objects.none()
    if user_sees_all_locations(user):
        return Agency.objects.all()
    return Agency.objects.filter(pk__in=locations_for_user(user).values("agency_id"))


def queryset_scope(queryset: QuerySet[M], *, user: Any, location_path: str) -> QuerySet[M]:
    """Restrict ``queryset`` to rows whose location (reached by ``location_path``) ``user`` may see.

    ``location_path`` is the ORM path from the model to its ``Location`` ("" for Location itself).
    """
    if user_sees_all_locations(user):
        return queryset
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    # A semi-join (IN subquery) rather than a join through the staff table: no duplicate rows,
    # so no DISTINCT, which on a big log table would sort every matching row before the first page.
    lookup = f"{location_path}__in" if location_path else "pk__in"
    return queryset.filter(**{lookup: Location.objects.filter(staff=user).values("pk")})
