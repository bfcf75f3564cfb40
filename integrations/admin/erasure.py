"""Erasure tombstones: what was erased, where, when and by whom (no personal data to show)."""

from django.contrib import admin

from integrations.models import ErasureTombstone
from portal.admin_filters import LocationFilter
from portal.admin_logs import AppendOnlyAdminMixin
from portal.admin_scoping import LocationScopedAdminMixin
from portal.paginator import NoCountAdminMixin


@admin.register(ErasureTombstone)
class ErasureTombstoneAdmin(
    AppendOnlyAdminMixin, NoCountAdminMixin, LocationScopedAdminMixin, admin.ModelAdmin
):
    """Written only by the erasure (``manage.py erase_person``, *Erase personal data* on contacts,
    the grace period of records deleted in HighLevel); each request is a ``person.erased`` audit
    event too. The keyed hashes are not shown: they only let a later request find the record."""

    list_display = ["erased_at", "location", "entity", "ghl_id", "reason", "erased_by"]
    list_filter = ["reason", LocationFilter]
    list_select_related = ["location", "erased_by"]
    search_fields = ["ghl_id"]
    fields = [
        "erased_at",
        "location",
        "entity",
        "ghl_id",
        "record_id",
        "reason",
        "erased_by",
    ]
    readonly_fields = fields
