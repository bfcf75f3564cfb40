"""django-q2's admin pages, replaced by versions that respect the roles.

django-q2 ships *Resubmit* with no permission check and lets anyone with a change permission edit
schedules and the queue. Here:

- task results (successes, failures) are read-only; *Resubmit* is for superusers only and each
  resubmission is an audit event (our own jobs are re-run on the job records, with idempotency);
- schedules can be added, edited or deleted by superusers only (the "portal tick" drives all
  periodic work; an auditor or support sees it read-only);
- the ORM broker's queue is read-only for everyone, superusers included.
"""

from django.contrib import admin, messages
from django_q import admin as q_admin
from django_q.models import Failure, OrmQ, Schedule, Success

from portal.admin_logs import AppendOnlyAdminMixin
from portal.queue import tasks_resubmit
from portal.scoping import user_sees_all_locations


class PlatformOnlyViewMixin:
    """A task row does not say whose task it is: only users spanning every agency see these."""

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and user_sees_all_locations(request.user)

    def has_module_permission(self, request):
        return super().has_module_permission(request) and user_sees_all_locations(request.user)


class SuperuserOnlyEditMixin:
    def has_add_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


class TaskResultAdminMixin:
    """Read-only task results; deleting old results is a superuser's housekeeping."""

    actions = ["resubmit"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_resubmit_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    @admin.action(description="Resubmit selected tasks to queue", permissions=["resubmit"])
    def resubmit(self, request, queryset):
        count = tasks_resubmit(
            tasks=list(queryset), user_id=request.user.pk, remove_failures=queryset.model is Failure
        )
        self.message_user(request, f"Resubmitted {count} task(s).", messages.SUCCESS)


class SuccessAdmin(PlatformOnlyViewMixin, TaskResultAdminMixin, q_admin.TaskAdmin):
    pass


class FailureAdmin(PlatformOnlyViewMixin, TaskResultAdminMixin, q_admin.FailAdmin):
    pass


class ScheduleAdmin(PlatformOnlyViewMixin, SuperuserOnlyEditMixin, q_admin.ScheduleAdmin):
    pass


class QueueAdmin(PlatformOnlyViewMixin, AppendOnlyAdminMixin, q_admin.QueueAdmin):
    """The broker's queue: read-only for everyone, superusers included."""


REPLACEMENTS = (
    (Success, SuccessAdmin),
    (Failure, FailureAdmin),
    (Schedule, ScheduleAdmin),
    (OrmQ, QueueAdmin),
)

for model, model_admin in REPLACEMENTS:
    # django-q2 registers OrmQ only with the ORM broker (or in tests); keep that choice.
    if admin.site.is_registered(model):
        admin.site.unregister(model)
        admin.site.register(model, model_admin)
