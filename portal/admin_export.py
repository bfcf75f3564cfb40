"""*Export CSV* for log admins: a button that exports the list as filtered, and an action.

Both go through the admin's own changelist machinery (``get_queryset`` with location scoping,
list filters, search), so the file holds exactly the rows the list shows the user, every page.
Allowed to users with ``<app>.export_<model>``; each export is an ``logs.exported`` audit event.
"""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone

from portal.export import csv_lines, logs_export_record
from portal.scoping import locations_for_user


class CsvExportAdminMixin:
    export_columns = []  # [portal.export.Column]
    # f(connection_id) -> the secret values to mask in rows of that connection (a connection_id column).
    export_secrets_for = None
    change_list_template = "admin/export_change_list.html"

    def has_export_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.export_{opts.model_name}")

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_view),
                name="%s_%s_export" % info,
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        if self.has_export_permission(request):
            info = self.opts.app_label, self.opts.model_name
            query = request.GET.copy()
            query.pop("p", None)
            extra_context["export_url"] = reverse("admin:%s_%s_export" % info) + (
                f"?{query.urlencode()}" if query else ""
            )
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        """The changelist's rows as CSV: same filters, search and scoping, all pages."""
        if not (
            self.has_view_or_change_permission(request) and self.has_export_permission(request)
        ):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            messages.error(request, "The export's filters are not valid; nothing was exported.")
            return redirect("admin:%s_%s_changelist" % (self.opts.app_label, self.opts.model_name))
        location = request.GET.get("location", "")
        if not (
            location.isdigit() and locations_for_user(request.user).filter(pk=location).exists()
        ):
            location = None
        return self._export_response(
            request, changelist.queryset, query=request.GET.urlencode(), location_id=location
        )

    @admin.action(description="Export selected as CSV", permissions=["export"])
    def export_csv(self, request, queryset):
        return self._export_response(
            request,
            queryset,
            query=request.GET.urlencode(),
            selected=request.POST.getlist(ACTION_CHECKBOX_NAME),
        )

    def _export_response(self, request, queryset, *, query, selected=None, location_id=None):
        if selected is not None and request.POST.get("select_across") == "1":
            selected = "all"
        logs_export_record(
            user_id=request.user.pk,
            model_label=self.opts.label,
            query=query,
            selected=selected if selected is None or selected == "all" else len(selected),
            location_id=location_id,
        )
        filename = f"{self.opts.model_name}-{timezone.now():%Y%m%d-%H%M%S}.csv"
        response = StreamingHttpResponse(
            csv_lines(
                queryset=queryset, columns=self.export_columns, secrets_for=self.export_secrets_for
            ),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
