"""A read-only view of the sandbox's stored resources, for superusers (role groups get no sandbox
permissions). The table holds 100,000s of rows: no COUNT(*), no full result count."""

import json

from django.contrib import admin
from django.contrib.admin.views.main import PAGE_VAR
from django.core.paginator import Paginator
from django.utils.html import format_html

from sandbox.models import Resource


class PeekPaginator(Paginator):
    """Counts the rows up to the requested page's end, plus one when more follow: reading one
    page and one row, never the table (the sandbox meets the portal only over HTTP, so it keeps
    its own)."""

    def __init__(self, object_list, per_page, *, page_number):
        super().__init__(object_list, per_page)
        start = (page_number - 1) * per_page
        rows = len(object_list[start : start + per_page + 1].values_list("pk", flat=True))
        self.__dict__["count"] = start + rows  # overrides the cached COUNT(*) property


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    show_full_result_count = False
    list_max_show_all = 0
    list_display = ["seq", "kind", "resource_id", "location_id", "summary", "deleted", "updated_at"]
    list_filter = ["kind", "deleted"]
    search_fields = ["=resource_id", "=location_id", "=email"]
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

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        page = request.GET.get(PAGE_VAR, "1")
        return PeekPaginator(
            queryset, per_page, page_number=int(page) if page.isdigit() and int(page) > 0 else 1
        )

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
