import copy

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from integrations.models import Connection, Subscription
from integrations.sync.subscriptions import (
    subscription_check,
    subscription_run_now,
    subscription_save,
    subscriptions_pause,
)
from integrations.sync.subscriptions.budget import (
    BudgetExceeded,
    budget_check,
    company_budget,
    location_budget,
)
from integrations.sync.subscriptions.progress import progress_text
from mappings.models import Mapping
from portal.admin_scoping import LocationScopedAdminMixin
from portal.paginator import NoCountAdminMixin
from portal.scoping import queryset_scope

OUTCOME_COLOURS = {"succeeded": "#2e7d32", "partial": "#b26a00", "failed": "#ba2121"}


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = Subscription
        fields = [
            "location",
            "connection",
            "trigger",
            "parameters",
            "interval_minutes",
            "mapping",
            "enabled",
            "reconcile_deletions",
        ]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        candidate = copy.copy(self.instance)  # the form's values, not yet on the instance
        for name in self.Meta.fields:
            setattr(candidate, name, data.get(name))
        for name, messages_ in subscription_check(subscription=candidate).items():
            for message in messages_:
                self.add_error(name if name in self.fields else None, message)
        if not self.errors and candidate.location_id and candidate.mapping_id:
            try:
                budget_check(subscription=candidate)
            except BudgetExceeded as exc:
                self.add_error(None, exc.messages[0])
        return data


@admin.register(Subscription)
class SubscriptionAdmin(NoCountAdminMixin, LocationScopedAdminMixin, admin.ModelAdmin):
    form = SubscriptionForm
    list_display = [
        "__str__",
        "plan",
        "interval_minutes",
        "state",
        "next_run_at",
        "outcome_badge",
        "last_run_at",
        "last_run_requests",
        "last_run_changed",
        "progress",
    ]
    list_filter = [
        "plan",
        "enabled",
        "paused",
        "last_run_outcome",
        "trigger",
        ("location", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["location"]
    search_fields = ["trigger", "location__name", "location__location_id"]
    actions = ["run_now", "backfill", "pause", "resume"]
    readonly_fields = [
        "plan",
        "operation",
        "budget",
        "paused",
        "progress",
        "next_run_at",
        "claimed_until",
        "job_link",
        "watermark",
        "cursor",
        "full_pass_requested",
        "backfill_started_at",
        "backfill_finished_at",
        "backfill_pages",
        "backfill_records",
        "backfill_total",
        "last_run_at",
        "last_run_outcome",
        "last_run_requests",
        "last_run_records",
        "last_run_changed",
        "last_run_error",
        "last_success_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "location",
                    "connection",
                    "trigger",
                    "plan",
                    "operation",
                    "parameters",
                    "interval_minutes",
                    "budget",
                    "mapping",
                    "enabled",
                    "paused",
                    "reconcile_deletions",
                ]
            },
        ),
        (
            "Backfill",
            {
                "fields": [
                    "progress",
                    "backfill_started_at",
                    "backfill_finished_at",
                    "backfill_pages",
                    "backfill_records",
                    "backfill_total",
                    "full_pass_requested",
                ]
            },
        ),
        (
            "Last run",
            {
                "fields": [
                    "last_run_at",
                    "last_run_outcome",
                    "last_run_requests",
                    "last_run_records",
                    "last_run_changed",
                    "last_run_error",
                    "last_success_at",
                ]
            },
        ),
        (
            "Schedule and checkpoint",
            {
                "classes": ["collapse"],
                "fields": [
                    "next_run_at",
                    "claimed_until",
                    "job_link",
                    "watermark",
                    "cursor",
                    "created_at",
                    "updated_at",
                ],
            },
        ),
    ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Connection:
            kwargs["queryset"] = queryset_scope(
                Connection.objects.filter(kind=Connection.Kind.LOCATION).select_related(
                    "location", "app"
                ),
                user=request.user,
                location_path="location",
            )
        elif db_field.related_model is Mapping:
            kwargs["queryset"] = queryset_scope(
                Mapping.objects.select_related("location"),
                user=request.user,
                location_path="location",
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        try:
            subscription_save(subscription=obj, user_id=request.user.pk)
        except ValidationError as exc:  # checked in the form already; a race changed something
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)

    def has_run_permission(self, request):
        return request.user.has_perm("integrations.run_subscription")

    @admin.action(description="Run trigger now", permissions=["run"])
    def run_now(self, request, queryset):
        self._run(request, queryset, backfill=False)

    @admin.action(description="Backfill (page through everything)", permissions=["run"])
    def backfill(self, request, queryset):
        self._run(request, queryset, backfill=True)

    def _run(self, request, queryset, *, backfill):
        queued = busy = 0
        for pk in queryset.values_list("pk", flat=True):
            job = subscription_run_now(
                subscription_id=pk, user_id=request.user.pk, backfill=backfill
            )
            queued += job is not None
            busy += job is None
        what = "backfill(s)" if backfill else "run(s)"
        if queued:
            self.message_user(request, f"Queued {queued} {what}.", messages.SUCCESS)
        if busy:
            note = " It will be a backfill when it runs next." if backfill else ""
            self.message_user(
                request,
                f"{busy} subscription(s) are running now; left alone.{note}",
                messages.WARNING,
            )

    @admin.action(description="Pause", permissions=["run"])
    def pause(self, request, queryset):
        count = subscriptions_pause(
            subscription_ids=list(queryset.values_list("pk", flat=True)),
            user_id=request.user.pk,
            paused=True,
        )
        self.message_user(request, f"Paused {count} subscription(s).", messages.SUCCESS)

    @admin.action(description="Resume", permissions=["run"])
    def resume(self, request, queryset):
        ids = list(queryset.filter(paused=True).values_list("pk", flat=True))
        count = subscriptions_pause(subscription_ids=ids, user_id=request.user.pk, paused=False)
        self.message_user(request, f"Resumed {count} subscription(s).", messages.SUCCESS)
        if count < len(ids):
            refused = Subscription.objects.filter(pk__in=ids, paused=True).first()
            self.message_user(
                request,
                f"{len(ids) - count} left paused: {refused.last_run_error if refused else ''}",
                messages.ERROR,
            )

    @admin.display(description="planned requests a day")
    def budget(self, obj):
        if obj.pk is None:
            return "–"
        plan = location_budget(location_id=obj.location_id)
        mine = next((line for line in plan.lines if line.subscription_id == obj.pk), None)
        company = company_budget(agency_id=obj.location.agency_id)
        mine = mine or next(
            (line for line in company.lines if line.subscription_id == obj.pk), None
        )
        if mine is None:
            return "– (not running)"
        return (
            f"≈ {mine.per_day:,.0f} ({mine.per_run:,.1f} a run) · the location's subscriptions "
            f"{plan.per_day:,.0f} of {plan.limit_per_day:,} ({plan.share:.1%}, allowed "
            f"{plan.max_share:.0%}) · the company's {company.per_day:,.0f} ({company.share:.1%})"
        )

    @admin.display(description="state")
    def state(self, obj):
        if not obj.enabled:
            return "disabled"
        if obj.paused:
            return "paused"
        if obj.claimed_until and obj.claimed_until > timezone.now():
            return "running"
        return "waiting"

    @admin.display(description="last outcome", ordering="last_run_outcome")
    def outcome_badge(self, obj):
        if not obj.last_run_outcome:
            return "–"
        colour = OUTCOME_COLOURS.get(obj.last_run_outcome, "#555")
        return format_html(
            '<strong style="color:{}">{}</strong>', colour, obj.get_last_run_outcome_display()
        )

    @admin.display(description="backfill progress")
    def progress(self, obj):
        return progress_text(obj)

    @admin.display(description="running job")
    def job_link(self, obj):
        if not obj.claimed_job_id:
            return "–"
        url = reverse("admin:integrations_job_change", args=[obj.claimed_job_id])
        return format_html('<a href="{}">job {}</a>', url, obj.claimed_job_id)
