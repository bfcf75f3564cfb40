from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from integrations.models import LocationMintBatch
from portal.admin_logs import AppendOnlyAdminMixin
from portal.scoping import user_sees_all_locations


@admin.register(LocationMintBatch)
class LocationMintBatchAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    """Read-only record of "connect these installed locations" runs.

    Batches belong to an agency connection, not to one location, so only users who see every
    location see them (the same rule as agency connections under location scoping).
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

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and user_sees_all_locations(request.user)
