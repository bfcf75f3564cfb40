"""The admin side of location scoping: every admin of location-owned data inherits
:class:`LocationScopedAdminMixin` (the policy itself is ``portal.scoping``)."""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist

from portal.admin_filters import scoped_relation_filter
from portal.models import Location
from portal.scoping import locations_for_user, queryset_scope


class LocationScopedAdminMixin:
    """Admin mixin: lists, object pages, actions, exports and FK choices see only allowed rows.

    Django's changelist actions run on ``get_queryset``, so scoping the queryset scopes actions
    too; object pages go through ``get_object`` (which uses ``get_queryset``), so a URL to
    another location's object answers 404 like a missing one.
    """

    location_path = "location"
    location_fallback_path = ""  # where a row without a location finds one (its connection's)

    def get_queryset(self, request):
        return queryset_scope(
            super().get_queryset(request),
            user=request.user,
            location_path=self.location_path,
            fallback_path=self.location_fallback_path,
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Location:
            kwargs["queryset"] = locations_for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_filter(self, request):
        """A plain "location" (or "agency") filter lists only what the user may see; a filter on
        any other relation (an app, a mapping) lists only the values of rows the user may see."""
        return [
            (scoped_relation_filter(self.model, f) or _related_only(self.model, f))
            if isinstance(f, str)
            else f
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


def _related_only(model, name):
    """``(name, RelatedOnlyFieldListFilter)`` for a plain relation, else ``name`` unchanged."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    if getattr(field, "many_to_one", False) or getattr(field, "many_to_many", False):
        return (name, admin.RelatedOnlyFieldListFilter)
    return name


class ScopedModelAdmin(LocationScopedAdminMixin, admin.ModelAdmin):
    pass
