"""Coverage per location and entity: how long since every record was last confirmed (read-only)."""

from django.contrib import admin
from django.utils import timezone

from integrations.models import EntityCoverage
from portal.admin_scoping import LocationScopedAdminMixin


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@admin.register(EntityCoverage)
class EntityCoverageAdmin(LocationScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "location",
        "entity",
        "coverage_age",
        "last_full_pass_at",
        "window",
        "walk_progress",
        "last_full_pass_records",
        "last_full_pass_requests",
        "last_full_pass_deleted",
    ]
    list_filter = ["entity", ("location", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["location"]
    search_fields = ["location__name", "location__location_id", "entity"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="coverage age")
    def coverage_age(self, obj: EntityCoverage) -> str:
        """How long since every record of the entity was last confirmed against HighLevel."""
        return _duration(obj.age_s(timezone.now()))

    @admin.display(description="window")
    def window(self, obj: EntityCoverage) -> str:
        return _duration(obj.window_s) if obj.window_s else "—"

    @admin.display(description="walk in progress")
    def walk_progress(self, obj: EntityCoverage) -> str:
        if obj.walk_started_at is None:
            return "—"
        age = _duration((timezone.now() - obj.walk_started_at).total_seconds())
        return f"since {age}, {obj.walk_requests} requests"
