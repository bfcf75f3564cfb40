"""*Quarantined records*: what the sync set aside, read-only, scoped by location like the rest."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from mappings.models import QuarantinedRecord
from mappings.quarantine import quarantine_retry_enqueue
from portal.admin_logs import AppendOnlyAdminMixin
from portal.admin_scoping import LocationScopedAdminMixin


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Set aside"), ("arrived", "Arrived since")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "arrived":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(AppendOnlyAdminMixin, LocationScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "ghl_id",
        "location",
        "entity",
        "rule_number",
        "field",
        "value_short",
        "reason_short",
        "attempts",
        "last_tried_at",
        "arrived",
    ]
    list_filter = [OpenFilter, "location", "entity", "source"]
    list_select_related = ["location", "mapping"]
    search_fields = ["ghl_id", "field", "reason"]
    readonly_fields = [
        "location",
        "entity",
        "ghl_id",
        "mapping_link",
        "mapping_version_number",
        "rule_number",
        "field",
        "value",
        "reason",
        "record",
        "event_time",
        "source",
        "job_link",
        "attempts",
        "first_seen_at",
        "last_tried_at",
        "resolved_at",
    ]
    fields = readonly_fields
    actions = ["retry"]

    def has_retry_permission(self, request):
        return request.user.has_perm("mappings.retry_quarantinedrecord")

    @admin.action(
        description="Retry selected records now (with the mapping's latest version)",
        permissions=["retry"],
    )
    def retry(self, request, queryset):
        ids = list(queryset.filter(resolved_at__isnull=True).values_list("pk", flat=True))
        if not ids:
            self.message_user(
                request, "The selected records have all arrived already.", messages.INFO
            )
            return
        quarantine_retry_enqueue(quarantine_ids=ids)
        self.message_user(
            request,
            f"Retrying {len(ids)} record(s): those that now fit arrive in Rankr; the rest "
            "stay here with the new reason.",
            messages.SUCCESS,
        )

    @admin.display(description="value")
    def value_short(self, obj):
        return obj.value[:60] + ("…" if len(obj.value) > 60 else "")

    @admin.display(description="reason")
    def reason_short(self, obj):
        return obj.reason[:100] + ("…" if len(obj.reason) > 100 else "")

    @admin.display(description="arrived", boolean=True, ordering="resolved_at")
    def arrived(self, obj):
        return obj.resolved_at is not None

    @admin.display(description="mapping")
    def mapping_link(self, obj):
        if obj.mapping_id is None:
            return "—"
        url = reverse("admin:mappings_mapping_change", args=[obj.mapping_id])
        return format_html('<a href="{}">{}</a>', url, obj.mapping)

    @admin.display(description="job")
    def job_link(self, obj):
        if obj.job_id is None:
            return "—"
        url = reverse("admin:integrations_job_change", args=[obj.job_id])
        return format_html('<a href="{}">#{}</a>', url, obj.job_id)
