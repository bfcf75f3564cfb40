from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html

from integrations.models import LocationMintBatch
from portal.admin_logs import AppendOnlyAdminMixin
from portal.scoping import queryset_scope_agency


@admin.register(LocationMintBatch)
class LocationMintBatchAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    """Read-only record of "connect these installed locations" runs.

    Batches belong to an agency connection, not to one location, so only users who see every
    location of that agency see them.
    """

    list_display = [
        "created_at",
        "agency_connection",
        "status",
        "done",
        "failed",
        "total",
        "progress",
    ]
    list_filter = ["status"]
    list_select_related = ["agency_connection__agency", "agency_connection__app"]
    readonly_fields = [
        "agency_connection",
        "status",
        "total",
        "done",
        "failed",
        "errors",
        "requested",
        "requested_by",
        "created_at",
        "finished_at",
    ]
    exclude = []

    @admin.display(description="progress page")
    def progress(self, obj):
        return format_html(
            '<a href="{}">open</a>', reverse("integrations:mint_progress", args=[obj.pk])
        )

    def get_object(self, request, object_id, from_field=None):
        if not self.has_view_permission(request):  # no role to read batches: refused, not missing
            raise PermissionDenied
        return super().get_object(request, object_id, from_field)

    def get_queryset(self, request):
        return queryset_scope_agency(
            super().get_queryset(request),
            user=request.user,
            agency_path="agency_connection__agency",
            whole=True,
        )
