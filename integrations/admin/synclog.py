from datetime import timedelta

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.functional import cached_property

from integrations.models import SyncLog
from portal.scoping import LocationScopedAdminMixin


class CappedCountPaginator(Paginator):
    """The sync log is big: count at most CAP rows (a bounded scan), never the whole table."""

    CAP = 10_000

    @cached_property
    def count(self):
        return self.object_list[: self.CAP].count()


class ProblemFilter(admin.SimpleListFilter):
    title = "problem"
    parameter_name = "problem"

    def lookups(self, request, model_admin):
        return [
            ("failed_hour", "Failed in the last hour"),
            ("failed", "Failed (any time)"),
            ("slow", "Slow (over 2 s)"),
            ("retried", "Retried (attempt > 1)"),
        ]

    def queryset(self, request, queryset):
        failed = queryset.filter(status__isnull=True) | queryset.filter(status__gte=400)
        if self.value() == "failed_hour":
            return failed.filter(at__gte=timezone.now() - timedelta(hours=1))
        if self.value() == "failed":
            return failed
        if self.value() == "slow":
            return queryset.filter(duration_ms__gte=2000)
        if self.value() == "retried":
            return queryset.filter(attempt__gt=1)
        return queryset


@admin.register(SyncLog)
class SyncLogAdmin(LocationScopedAdminMixin, admin.ModelAdmin):
    """Append-only: nobody adds, edits or deletes entries here, superusers included.

    Retention is `manage.py prune_sync_logs`.
    """

    list_display = ["at", "method", "path", "status", "duration_ms", "attempt", "operation_id",
                    "location", "trace_id", "job_id"]
    list_filter = [ProblemFilter, "method", "status"]
    list_select_related = ["location", "connection"]
    search_fields = ["trace_id", "operation_id", "path"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 100
    readonly_fields = [f.name for f in SyncLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
