from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from integrations.models import JobAttempt
from portal.admin_filters import time_range_filter
from portal.admin_logs import LogAdmin
from portal.timefmt import time_show


@admin.register(JobAttempt)
class JobAttemptAdmin(LogAdmin):
    """Every run of every job, read-only: who ran it, when, and how it ended (e.g. *worker lost*)."""

    location_path = "job__location"
    list_display = [
        "outcome",
        "error_short",
        "job_link",
        "number",
        "started_shown",
        "ended_shown",
        "worker",
    ]
    list_display_links = ["number"]
    list_filter = ["outcome", time_range_filter("started_at")]
    list_select_related = ["job"]
    search_fields = ["=worker"]
    search_help_text = "A worker (host:pid)."
    actions = []
    readonly_fields = [f.name for f in JobAttempt._meta.fields]

    @admin.display(description="job")
    def job_link(self, obj):
        url = reverse("admin:integrations_job_change", args=[obj.job_id])
        return format_html('<a href="{}">job {}</a>', url, obj.job_id)

    @admin.display(description="error")
    def error_short(self, obj):
        text = f"{obj.error_class}: {obj.error_message}" if obj.error_class else obj.error_message
        return (text[:90] + "…") if len(text) > 90 else text

    @admin.display(description="started", ordering="started_at")
    def started_shown(self, obj):
        return time_show(obj.started_at)

    @admin.display(description="ended", ordering="ended_at")
    def ended_shown(self, obj):
        return time_show(obj.ended_at)
