from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from integrations.models import Job, SyncLog
from integrations.sync.jobs import job_rerun
from integrations.sync.secrets import connection_secrets_get
from portal.admin_filters import LocationFilter, text_filter, time_range_filter
from portal.admin_logs import LogAdmin
from portal.export import Column, connection_name_expression, location_field_expression


class AttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [
            ("failed_hour", "Failed in the last hour"),
            ("failed_day", "Failed in the last 24 hours"),
            ("retrying", "Waiting to retry"),
            ("stuck", "Running past its lease"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        failed = queryset.filter(status__in=[Job.Status.FAILED, Job.Status.DEAD])
        if self.value() == "failed_hour":
            return failed.filter(queued_at__gte=now - timedelta(hours=1))
        if self.value() == "failed_day":
            return failed.filter(queued_at__gte=now - timedelta(hours=24))
        if self.value() == "retrying":
            return queryset.filter(status=Job.Status.QUEUED, attempts__gt=0)
        if self.value() == "stuck":
            return queryset.filter(status=Job.Status.RUNNING, lease_until__lt=now)
        return queryset


@admin.register(Job)
class JobAdmin(LogAdmin):
    """Job records are append-only here: the only change anyone makes is *Re-run*.

    Search: a HighLevel id (the job's subject), an idempotency key, a job number, or a trace id
    (the jobs whose sync-log entries carry it); all exact and indexed.
    """

    list_display = ["id", "kind", "status_badge", "location", "operation", "subject", "attempts",
                    "queued_at", "finished_at", "error_short", "sync_log_link"]
    list_filter = [
        AttentionFilter, "status", "kind", time_range_filter("queued_at"), LocationFilter,
        text_filter(field_path="operation", title="operation", parameter_name="operation",
                    placeholder='e.g. POST /contacts/'),
    ]
    list_select_related = ["location"]
    search_fields = ["=subject"]
    search_help_text = "A HighLevel id, an idempotency key, a job number or a trace id."
    actions = ["rerun", "export_csv"]
    readonly_fields = [f.name for f in Job._meta.fields] + ["sync_log_link"]
    export_secrets_for = staticmethod(lambda pk: connection_secrets_get(connection_id=pk))
    export_columns = [
        Column("job", "id"),
        Column("kind", "kind"),
        Column("status", "status"),
        Column("HighLevel location id", "export_location_id", expression=location_field_expression("location_id")),
        Column("location", "export_location", expression=location_field_expression("name")),
        Column("connection", "export_connection", expression=connection_name_expression()),
        Column("connection id", "connection_id"),
        Column("operation", "operation"),
        Column("subject", "subject"),
        Column("idempotency key", "idempotency_key"),
        Column("mapping version", "mapping_version_id"),
        Column("attempts", "attempts"),
        Column("max attempts", "max_attempts"),
        Column("re-runs", "reruns"),
        Column("queued", "queued_at"),
        Column("started", "started_at"),
        Column("finished", "finished_at"),
        Column("error class", "error_class"),
        Column("error", "error_message", "text"),
        Column("input", "params", "json"),
        Column("result", "result", "json"),
        Column("started by", "created_by__username"),
    ]

    def get_search_results(self, request, queryset, search_term):
        """The first kind of exact match that finds rows wins, each one index lookup (an OR of
        them, with the sync-log subquery, makes PostgreSQL read the whole table)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        traced = SyncLog.objects.filter(trace_id=term, job_id__isnull=False).values_list("job_id", flat=True)
        candidates = [Q(subject=term), Q(idempotency_key=term)]
        if term.isdigit():
            candidates.append(Q(pk=int(term)))
        candidates.append(Q(pk__in=list(traced[:1000])))
        for match in candidates:
            found = queryset.filter(match)
            if found.exists():
                return found, False
        return queryset.none(), False

    # The sync log is its own permission (staff have none): no link to a page they may not see.
    def _sees_sync_log(self, request):
        return request.user.has_perm("integrations.view_synclog")

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if self._sees_sync_log(request) else [f for f in shown if f != "sync_log_link"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if self._sees_sync_log(request) else [f for f in fields if f != "sync_log_link"]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if self._sees_sync_log(request) else [f for f in fields if f != "sync_log_link"]

    def has_rerun_permission(self, request):
        return request.user.has_perm("integrations.rerun_job")

    @admin.action(description="Re-run selected failed jobs", permissions=["rerun"])
    def rerun(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = job_rerun(job_ids=ids, user_id=request.user.pk)
        skipped = len(ids) - count
        self.message_user(request, f"Re-queued {count} job(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} job(s) were not failed or dead and were left alone.", messages.WARNING
            )

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        colour = {"failed": "#ba2121", "dead": "#7a0000", "succeeded": "#2e7d32"}.get(obj.status, "#555")
        return format_html('<strong style="color:{}">{}</strong>', colour, obj.get_status_display())

    @admin.display(description="error")
    def error_short(self, obj):
        return (obj.error_message[:80] + "…") if len(obj.error_message) > 80 else obj.error_message

    @admin.display(description="sync log")
    def sync_log_link(self, obj):
        url = reverse("admin:integrations_synclog_changelist") + f"?job_id={obj.pk}"
        return format_html('<a href="{}">entries</a>', url)
