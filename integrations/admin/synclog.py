from datetime import timedelta

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone

from integrations.models import SyncLog
from integrations.sync.secrets import connection_secrets_get
from portal.admin_filters import ChoiceFilter, LocationFilter, text_filter, time_range_filter
from portal.admin_logs import LogAdmin
from portal.export import CLEANERS, Column, connection_name_expression, location_field_expression
from portal.models import Location
from portal.timefmt import time_show


class ProblemFilter(admin.SimpleListFilter):
    title = "problem"
    parameter_name = "problem"

    def lookups(self, request, model_admin):
        return [
            ("failed_hour", "Failed in the last hour"),
            ("failed", "Failed (any time)"),
            ("slow", "Slow (over 2 s)"),
            ("retried", "Retried (attempt > 1)"),
        ]

    def queryset(self, request, queryset):
        failed = queryset.filter(Q(status__isnull=True) | Q(status__gte=400))
        if self.value() == "failed_hour":
            return failed.filter(at__gte=timezone.now() - timedelta(hours=1))
        if self.value() == "failed":
            return failed
        if self.value() == "slow":
            return queryset.filter(duration_ms__gte=2000)
        if self.value() == "retried":
            return queryset.filter(attempt__gt=1)
        return queryset


class StatusFilter(ChoiceFilter):
    title = "HTTP status"
    parameter_name = "status"
    options = {
        "2xx": ("2xx success", {"status__gte": 200, "status__lt": 300}),
        "4xx": ("4xx refused", {"status__gte": 400, "status__lt": 500}),
        "401": ("401 unauthorised", {"status": 401}),
        "404": ("404 not found", {"status": 404}),
        "422": ("422 invalid", {"status": 422}),
        "429": ("429 rate limited", {"status": 429}),
        "5xx": ("5xx server error", {"status__gte": 500}),
        "none": ("No answer (timeout, reset)", {"status__isnull": True}),
    }


class MethodFilter(ChoiceFilter):
    title = "method"
    parameter_name = "method"
    options = {m: (m, {"method": m}) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}


# Entries are redacted when written; the admin masks them again, as the export does, in case one
# was not (a row written before a redaction rule existed).
MASKED = {
    "path": "path_shown",
    "error": "error_shown",
    "request_summary": "request_shown",
    "response_summary": "response_shown",
}


@admin.register(SyncLog)
class SyncLogAdmin(LogAdmin):
    """Append-only, for everyone (superusers included). Retention is `manage.py prune_sync_logs`.

    Search: a trace id, a HighLevel location id or an operation id match exactly (indexed); a job
    number matches its entries; any other term looks inside the request path (a HighLevel record
    id), which reads the table and is the one slow search.
    """

    location_fallback_path = "connection__location"  # token refreshes name no location

    # Status and error first: what an operator reads before anything else, visible at 1366 px.
    list_display = [
        "status",
        "error_short",
        "at_shown",
        "method",
        "path_shown",
        "duration_ms",
        "attempt",
        "operation_id",
        "location",
        "trace_id",
        "job_id",
    ]
    list_display_links = ["at_shown"]
    list_filter = [
        ProblemFilter,
        StatusFilter,
        MethodFilter,
        time_range_filter("at"),
        LocationFilter,
        text_filter(
            field_path="operation_id",
            title="operation",
            parameter_name="operation",
            placeholder="e.g. get-contacts",
        ),
        text_filter(field_path="job_id", title="job number", parameter_name="job_id"),
        text_filter(field_path="job_attempt_id", title="job attempt", parameter_name="attempt"),
    ]
    list_select_related = ["location"]
    search_fields = ["=trace_id"]
    search_help_text = "A trace id, HighLevel location id, operation id, job number, or a HighLevel id in the path."
    fields = readonly_fields = [MASKED.get(f.name, f.name) for f in SyncLog._meta.fields]
    export_secrets_for = staticmethod(lambda pk: connection_secrets_get(connection_id=pk))
    export_columns = [
        Column("when", "at"),
        Column(
            "HighLevel location id",
            "export_location_id",
            expression=location_field_expression("location_id"),
        ),
        Column("location", "export_location", expression=location_field_expression("name")),
        Column("connection", "export_connection", expression=connection_name_expression()),
        Column("connection id", "connection_id"),
        Column("operation", "operation_id"),
        Column("method", "method"),
        Column("path", "path", "path"),
        Column("HTTP status", "status"),
        Column("error", "error", "text"),
        Column("duration ms", "duration_ms"),
        Column("attempt", "attempt"),
        Column("trace id", "trace_id"),
        Column("job", "job_id"),
        Column("job attempt", "job_attempt_id"),
        Column("request", "request_summary", "summary"),
        Column("response", "response_summary", "summary"),
    ]

    def get_search_results(self, request, queryset, search_term):
        """The first kind of exact match that finds rows wins; each is one index lookup (an OR of
        them would make PostgreSQL read the whole table). Nothing exact: the path, by substring."""
        term = search_term.strip()
        if not term:
            return queryset, False
        candidates = [
            Q(trace_id=term),
            Q(
                location_id__in=list(
                    Location.objects.filter(location_id=term).values_list("pk", flat=True)
                )
            ),
            Q(operation_id=term),
        ]
        if term.isdigit():
            candidates.append(Q(job_id=int(term)))
        for match in candidates:
            found = queryset.filter(match)
            if found.exists():
                return found, False
        if len(term) < 6:
            return queryset.none(), False
        return queryset.filter(path__contains=term), False

    @admin.display(description="when", ordering="at")
    def at_shown(self, obj):
        return time_show(obj.at)

    @admin.display(description="error")
    def error_short(self, obj):
        text = CLEANERS["text"](obj.error)
        return (text[:70] + "…") if len(text) > 70 else text

    @admin.display(description="path", ordering="path")
    def path_shown(self, obj):
        return CLEANERS["path"](obj.path)

    @admin.display(description="error")
    def error_shown(self, obj):
        return CLEANERS["text"](obj.error)

    @admin.display(description="request (redacted)")
    def request_shown(self, obj):
        return CLEANERS["summary"](obj.request_summary)

    @admin.display(description="response (redacted)")
    def response_shown(self, obj):
        return CLEANERS["summary"](obj.response_summary)
