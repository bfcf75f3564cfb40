from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from integrations.admin.job_display import job_attempt_line, job_status_html, permanent_reason
from integrations.models import Job, JobAttempt, SyncLog
from integrations.sync.jobs import job_last_permanent_error, job_rerun, job_retry_now
from integrations.sync.rerun_policy import job_rerun_refusal
from integrations.sync.secrets import connection_secrets_get
from portal.admin_filters import LocationFilter, text_filter, time_range_filter
from portal.admin_logs import LogAdmin
from portal.export import Column, connection_name_expression, location_field_expression
from portal.timefmt import time_show

# Shown to the second with the zone on the job page.
JOB_TIMES = ("queued_at", "next_attempt_at", "started_at", "finished_at", "lease_until", "sent_at")


class AttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [
            ("failed_hour", "Failed in the last hour"),
            ("failed_day", "Failed in the last 24 hours"),
            ("retrying", "Waiting to retry"),
            ("skipped", "Skipped (superseded)"),
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
        if self.value() == "skipped":
            return queryset.filter(status=Job.Status.SKIPPED)
        if self.value() == "stuck":
            return queryset.filter(status=Job.Status.RUNNING, lease_until__lt=now)
        return queryset


@admin.register(Job)
class JobAdmin(LogAdmin):
    """Job records are append-only here: the only change anyone makes is *Re-run*.

    Search: a HighLevel id (the job's subject), an idempotency key, a job number, or a trace id
    (the jobs whose sync-log entries carry it); all exact and indexed.
    """

    location_fallback_path = "connection__location"

    # Status and error first: what support reads before anything else, visible at 1366 px.
    list_display = [
        "status_badge",
        "error_short",
        "id",
        "what",
        "location",
        "attempt_shown",
        "queued_at_shown",
        "finished_at_shown",
        "sync_log_link",
    ]
    list_display_links = ["id"]
    list_filter = [
        AttentionFilter,
        "status",
        "kind",
        time_range_filter("queued_at"),
        LocationFilter,
        text_filter(
            field_path="operation",
            title="operation",
            parameter_name="operation",
            placeholder="e.g. POST /contacts/",
        ),
    ]
    list_select_related = ["location"]
    search_fields = ["=subject"]
    search_help_text = "A HighLevel id, an idempotency key, a job number or a trace id."
    actions = ["rerun", "export_csv"]
    readonly_fields = fields = [
        f"{f.name}_shown" if f.name in JOB_TIMES else f.name for f in Job._meta.fields
    ] + ["sync_log_link"]
    change_form_template = "integrations/admin/job_change_form.html"
    export_secrets_for = staticmethod(lambda pk: connection_secrets_get(connection_id=pk))
    export_columns = [
        Column("job", "id"),
        Column("kind", "kind"),
        Column("status", "status"),
        Column(
            "HighLevel location id",
            "export_location_id",
            expression=location_field_expression("location_id"),
        ),
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
        traced = SyncLog.objects.filter(trace_id=term, job_id__isnull=False).values_list(
            "job_id", flat=True
        )
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
        return (
            fields if self._sees_sync_log(request) else [f for f in fields if f != "sync_log_link"]
        )

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return (
            fields if self._sees_sync_log(request) else [f for f in fields if f != "sync_log_link"]
        )

    def has_rerun_permission(self, request):
        return request.user.has_perm("integrations.rerun_job")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:job_id>/rerun/", view(self.rerun_view), name="integrations_job_rerun"),
            path(
                "<int:job_id>/retry-now/",
                view(self.retry_now_view),
                name="integrations_job_retry_now",
            ),
            *super().get_urls(),
        ]

    @admin.action(description="Re-run selected failed jobs", permissions=["rerun"])
    def rerun(self, request, queryset):
        jobs = []
        for job in queryset:
            refusal = job_rerun_refusal(job=job, user=request.user)
            if refusal:
                self.message_user(request, refusal, messages.ERROR)
            else:
                jobs.append(job)
        if not jobs:
            return None
        permanent = [(job, job_last_permanent_error(job=job)) for job in jobs]
        permanent = [(job, attempt) for job, attempt in permanent if attempt]
        if permanent and not request.POST.get("confirm"):
            return TemplateResponse(
                request,
                "integrations/admin/job_rerun_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "title": "Re-run jobs whose last error is permanent?",
                    "permanent": [(job, permanent_reason(attempt)) for job, attempt in permanent],
                    "selected": [job.pk for job in jobs],
                    "action": "rerun",
                },
            )
        count = job_rerun(job_ids=[job.pk for job in jobs], user_id=request.user.pk)
        skipped = len(jobs) - count
        self.message_user(request, f"Re-queued {count} job(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} job(s) were not failed, dead or skipped and were left alone.",
                messages.WARNING,
            )
        return None

    def _job_for(self, request, job_id):
        if not self.has_rerun_permission(request):
            raise PermissionDenied
        job = (
            self.get_queryset(request).filter(pk=job_id).first()
        )  # scoped: another location's is 404
        if job is None:
            raise Http404("No such job.")
        refusal = job_rerun_refusal(job=job, user=request.user)
        if refusal:
            raise PermissionDenied(refusal)
        return job

    def rerun_view(self, request, job_id):
        """*Re-run* on the job page. A job whose last error is permanent asks first, saying why
        it will likely fail again."""
        job = self._job_for(request, job_id)
        change_url = reverse("admin:integrations_job_change", args=[job.pk])
        attempt = job_last_permanent_error(job=job)
        if request.method != "POST" or (attempt and not request.POST.get("confirm")):
            if attempt is None and request.method != "POST":
                return redirect(change_url)
            return TemplateResponse(
                request,
                "integrations/admin/job_rerun_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "title": f"Re-run job {job.pk}? Its last error is permanent",
                    "permanent": [(job, permanent_reason(attempt))],
                    "single": job,
                    "change_url": change_url,
                },
            )
        if job_rerun(job_ids=[job.pk], user_id=request.user.pk):
            self.message_user(
                request, f"Job {job.pk} re-queued: a new attempt starts shortly.", messages.SUCCESS
            )
        else:
            self.message_user(
                request,
                f"Job {job.pk} is {job.get_status_display()}: only failed, "
                "dead or skipped jobs are re-run.",
                messages.WARNING,
            )
        return redirect(change_url)

    def retry_now_view(self, request, job_id):
        """*Retry now* on the job page of a job waiting to retry."""
        job = self._job_for(request, job_id)
        change_url = reverse("admin:integrations_job_change", args=[job.pk])
        if request.method != "POST":
            return redirect(change_url)
        if job_retry_now(job_id=job.pk, user_id=request.user.pk):
            self.message_user(request, f"Job {job.pk}: retrying now.", messages.SUCCESS)
        else:
            self.message_user(request, f"Job {job.pk} is not waiting to retry.", messages.WARNING)
        return redirect(change_url)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        job = (
            self.get_queryset(request).filter(pk=object_id).first()
            if str(object_id).isdigit()
            else None
        )
        if job is not None:
            attempts = list(
                JobAttempt.objects.filter(job=job)
                .select_related("superseded_by")
                .order_by("-number")
            )
            last = attempts[0] if attempts else None
            may_rerun = self.has_rerun_permission(request) and not job_rerun_refusal(
                job=job, user=request.user
            )
            extra_context.update(
                job_status=job_status_html(job, last),
                attempt_line=job_attempt_line(job),
                attempts=attempts,
                last_attempt=last,
                now_shown=time_show(timezone.now()),
                attempts_total=len(attempts),
                rerun_url=reverse("admin:integrations_job_rerun", args=[job.pk]),
                retry_now_url=reverse("admin:integrations_job_retry_now", args=[job.pk]),
                can_rerun=may_rerun
                and job.status in (Job.Status.FAILED, Job.Status.DEAD, Job.Status.SKIPPED),
                can_retry_now=may_rerun and job.status == Job.Status.QUEUED and job.attempts > 0,
                permanent=job_last_permanent_error(job=job),
                synclog_url=reverse("admin:integrations_synclog_changelist"),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return job_status_html(obj, None)

    @admin.display(description="error")
    def error_short(self, obj):
        if obj.status == Job.Status.SKIPPED and obj.superseded_by_id:
            url = reverse("admin:integrations_job_change", args=[obj.superseded_by_id])
            return format_html('superseded by <a href="{}">job {}</a>', url, obj.superseded_by_id)
        if obj.status == Job.Status.SUCCEEDED:
            return ""
        text = f"{obj.error_class}: {obj.error_message}" if obj.error_class else obj.error_message
        return (text[:90] + "…") if len(text) > 90 else text

    @admin.display(description="job", ordering="kind")
    def what(self, obj):
        return (
            f"{obj.get_kind_display()} · {obj.operation}"
            if obj.operation
            else obj.get_kind_display()
        )

    @admin.display(description="next attempt")
    def next_attempt_at_shown(self, obj):
        return time_show(obj.next_attempt_at)

    @admin.display(description="started")
    def started_at_shown(self, obj):
        return time_show(obj.started_at)

    @admin.display(description="lease until (database clock)")
    def lease_until_shown(self, obj):
        return time_show(obj.lease_until)

    @admin.display(description="sent to the queue")
    def sent_at_shown(self, obj):
        return time_show(obj.sent_at)

    @admin.display(description="queued", ordering="queued_at")
    def queued_at_shown(self, obj):
        return time_show(obj.queued_at)

    @admin.display(description="finished", ordering="finished_at")
    def finished_at_shown(self, obj):
        return time_show(obj.finished_at)

    @admin.display(description="attempt")
    def attempt_shown(self, obj):
        return job_attempt_line(obj)

    @admin.display(description="sync log")
    def sync_log_link(self, obj):
        url = reverse("admin:integrations_synclog_changelist") + f"?job_id={obj.pk}"
        return format_html('<a href="{}">entries</a>', url)
