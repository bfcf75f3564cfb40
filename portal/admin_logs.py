"""The base for admins of logs and records: append-only, location-scoped, uncounted, exportable.

Sync log entries, job records, webhook events, audit events and mapping versions are evidence.
Nobody adds, edits or deletes them in the admin, superusers included; retention is a management
command (`prune_sync_logs`, `prune_jobs`), not a button.
"""

from django.contrib import admin

from portal.admin_export import CsvExportAdminMixin
from portal.admin_scoping import LocationScopedAdminMixin
from portal.paginator import NoCountAdminMixin


class AppendOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LogAdmin(
    AppendOnlyAdminMixin,
    CsvExportAdminMixin,
    NoCountAdminMixin,
    LocationScopedAdminMixin,
    admin.ModelAdmin,
):
    show_facets = admin.ShowFacets.NEVER  # facet counts are COUNT(*)s over the whole table
    date_hierarchy = None  # its year/month links scan the table for distinct dates
    actions = ["export_csv"]
