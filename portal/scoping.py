"""Location scoping: the one place that decides which locations a user may see.

Every admin of location-owned data inherits :class:`LocationScopedAdminMixin`, so a staff member
assigned to locations A and B never sees, lists, exports or acts on C, page by page or by URL.
"""

from django.contrib import admin

from portal.models import Location

VIEW_ALL_PERMISSION = "portal.view_all_locations"


def user_sees_all_locations(user):
    return user.is_active and (user.is_superuser or user.has_perm(VIEW_ALL_PERMISSION))


def locations_for_user(user):
    """The locations ``user`` may see."""
    if not user.is_authenticated or not user.is_active:
        return Location.objects.none()
    if user_sees_all_locations(user):
        return Location.objects.all()
    return Location.objects.filter(staff=user)


def queryset_scope(queryset, *, user, location_path):
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


class LocationScopedAdminMixin:
    """Admin mixin: lists, object pages, actions, exports and FK choices see only allowed rows.

    Django's changelist actions run on ``get_queryset``, so scoping the queryset scopes actions
    too; object pages go through ``get_object`` (which uses ``get_queryset``), so a URL to
    another location's object answers 404 like a missing one.
    """

    location_path = "location"

    def get_queryset(self, request):
        return queryset_scope(
            super().get_queryset(request), user=request.user, location_path=self.location_path
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Location:
            kwargs["queryset"] = locations_for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_filter(self, request):
        """A plain "location" (or "agency") filter lists only what the user may see."""
        from portal.admin_filters import scoped_relation_filter

        return [
            (scoped_relation_filter(self.model, f) or f) if isinstance(f, str) else f
            for f in super().get_list_filter(request)
        ]

    def _in_scope(self, request, obj):
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._in_scope(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._in_scope(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._in_scope(request, obj)


class ScopedModelAdmin(LocationScopedAdminMixin, admin.ModelAdmin):
    pass
