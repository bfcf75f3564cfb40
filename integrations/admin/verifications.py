"""The verifier's measurements and the spec deviations of live answers: read-only evidence."""

from django.contrib import admin
from django.utils.html import format_html

from integrations.models import SpecDeviation, Verification
from portal.admin_filters import LocationFilter, text_filter, time_range_filter
from portal.admin_logs import AppendOnlyAdminMixin, LogAdmin
from portal.admin_queue import PlatformOnlyViewMixin
from portal.export import Column


@admin.register(Verification)
class VerificationAdmin(LogAdmin):
    """Per location and entity, each day: sample size, mismatch rate, coverage age (history)."""

    list_display = [
        "measured_at",
        "location",
        "entity",
        "sample_size",
        "mismatch_percent",
        "missing",
        "gone",
        "repaired",
        "coverage_age",
        "requests",
        "job_link",
    ]
    list_filter = [
        time_range_filter("measured_at"),
        LocationFilter,
        text_filter(
            field_path="entity", title="entity", parameter_name="entity", placeholder="e.g. contact"
        ),
    ]
    list_select_related = ["location"]
    export_columns = [
        Column("measured", "measured_at"),
        Column("agency", "location__agency__name"),
        Column("location", "location__name"),
        Column("HighLevel location id", "location__location_id"),
        Column("entity", "entity"),
        Column("sample size", "sample_size"),
        Column("mismatched", "mismatched"),
        Column("mismatch rate", "mismatch_rate"),
        Column("missing in Rankr", "missing"),
        Column("gone from HighLevel", "gone"),
        Column("repaired", "repaired"),
        Column("coverage age (s)", "coverage_age_s"),
        Column("HighLevel requests", "requests"),
        Column("job", "job_id"),
    ]

    @admin.display(description="mismatch rate", ordering="mismatch_rate")
    def mismatch_percent(self, obj):
        return f"{100 * obj.mismatch_rate:.1f}%"

    @admin.display(description="coverage age", ordering="coverage_age_s")
    def coverage_age(self, obj):
        if obj.coverage_age_s is None:
            return "–"
        hours, rest = divmod(obj.coverage_age_s, 3600)
        return f"{hours} h {rest // 60:02d} min"

    @admin.display(description="job")
    def job_link(self, obj):
        if obj.job_id is None:
            return "–"
        return format_html('<a href="../job/{}/change/">#{}</a>', obj.job_id, obj.job_id)


@admin.register(SpecDeviation)
class SpecDeviationAdmin(PlatformOnlyViewMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    """Live answers that did not match the operation's response schema, per operation (counted
    over every agency's calls: platform data, for users who span every agency)."""

    list_display = ["last_seen_at", "operation", "status", "path", "message", "count"]
    list_filter = [
        time_range_filter("last_seen_at"),
        text_filter(
            field_path="operation",
            title="operation",
            parameter_name="operation",
            placeholder="e.g. GET /contacts/{contactId}",
        ),
    ]
    search_fields = ["operation", "message"]
    show_facets = admin.ShowFacets.NEVER
