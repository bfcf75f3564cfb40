from django.contrib import admin

from integrations.models import WebhookEvent
from portal.scoping import LocationScopedAdminMixin


@admin.register(WebhookEvent)
class WebhookEventAdmin(LocationScopedAdminMixin, admin.ModelAdmin):
    """Received webhooks, read-only for everyone: they are evidence of what HighLevel sent."""

    list_display = ["received_at", "event_type", "status", "location", "webhook_id", "scheme"]
    list_filter = ["status", "event_type", "scheme"]
    list_select_related = ["location"]
    search_fields = ["=webhook_id", "=highlevel_location_id"]
    date_hierarchy = "received_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
