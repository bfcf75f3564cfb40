from django.contrib import admin
from django.db.models import Q

from integrations.models import WebhookEvent
from portal.admin_filters import ChoiceFilter, LocationFilter, text_filter, time_range_filter
from portal.admin_logs import LogAdmin
from portal.export import Column


class SchemeFilter(ChoiceFilter):
    title = "signature"
    parameter_name = "scheme"
    options = {s: (s, {"scheme": s}) for s in ("ed25519", "rsa")}


@admin.register(WebhookEvent)
class WebhookEventAdmin(LogAdmin):
    """Received webhooks, read-only for everyone: they are evidence of what HighLevel sent."""

    list_display = ["received_at", "event_type", "status", "location", "webhook_id", "scheme"]
    list_filter = [
        "status",
        time_range_filter("received_at"),
        LocationFilter,
        SchemeFilter,
        text_filter(
            field_path="event_type",
            title="type",
            parameter_name="type",
            placeholder="e.g. ContactCreate",
        ),
    ]
    list_select_related = ["location"]
    search_fields = ["=webhook_id"]
    search_help_text = "A webhook id or a HighLevel location id."
    export_columns = [
        Column("received", "received_at"),
        Column("webhook id", "webhook_id"),
        Column("type", "event_type"),
        Column("HighLevel location id", "highlevel_location_id"),
        Column("location", "location__name"),
        Column("signature", "scheme"),
        Column("status", "status"),
        Column("reason", "reason", "text"),
        Column("processed", "processed_at"),
        Column("payload", "payload", "json"),
    ]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(webhook_id=term) | Q(highlevel_location_id=term)), False
