"""django-q2's admin pages, with its actions gated by permissions.

django-q2 ships *Resubmit* with no permission check, so anyone who can view a task could re-queue
it. Here re-queueing needs the change permission on the task model, which no read-only role has.
Re-running our own failed jobs (with idempotency) lives on the job records, not here.
"""

from django.contrib import admin
from django_q import admin as q_admin
from django_q.models import Failure, Success


@admin.action(description="Resubmit selected tasks to queue", permissions=["change"])
def resubmit_task(modeladmin, request, queryset):
    q_admin.resubmit_task(modeladmin, request, queryset)


class SuccessAdmin(q_admin.TaskAdmin):
    actions = [resubmit_task]


class FailureAdmin(q_admin.FailAdmin):
    actions = [resubmit_task]


for model, model_admin in ((Success, SuccessAdmin), (Failure, FailureAdmin)):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
