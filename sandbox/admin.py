"""A read-only view of the sandbox's stored resources, for superusers (role groups get no sandbox
permissions). The table holds 100,000s of rows: no COUNT(*), no full result count."""

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.html import format_html

from sandbox.models import Resource


class NoCountPaginator(Paginator):
    """Pages without counting the table: admin shows 'next' as long as a page is full."""

    @cached_property
    def count(self):
        return 10**9


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ["seq", "kind", "resource_id", "location_id", "summary", "deleted", "updated_at"]
    list_filter = ["kind", "deleted"]
    search_fields = ["=resource_id", "=location_id", "=email"]
    show_full_result_count = False
    paginator = NoCountPaginator
    list_per_page = 50
    ordering = ["-seq"]
    readonly_fields = ["pretty_data"]
    exclude = ["data"]

    @admin.display(description="summary")
    def summary(self, obj):
        data = obj.data or {}
        return data.get("name") or data.get("title") or data.get("email") or data.get("tag") or "—"

    @admin.display(description="data")
    def pretty_data(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2, ensure_ascii=False))

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
