"""django-q2 task records: resubmitting one is a deliberate, audited act."""

from django.db import transaction

from portal.models import AuditEvent


def tasks_resubmit(*, tasks, user_id, remove_failures):
    """Queue ``tasks`` (django-q2 Task rows) again after commit, each recorded as an audit event.

    A resubmitted failure is removed from the failures, as django-q2's own action does, so the
    list shows what still needs a look. Returns how many were resubmitted.
    """
    from django_q.tasks import async_task

    count = 0
    with transaction.atomic():
        for task in tasks:
            func, args, kwargs = task.func, tuple(task.args or ()), dict(task.kwargs or {})
            hook, group, cluster = task.hook, task.group, task.cluster
            transaction.on_commit(
                lambda f=func, a=args, k=kwargs, h=hook, g=group, c=cluster: async_task(
                    f, *a, hook=h, group=g, cluster=c, **k
                )
            )
            AuditEvent.objects.create(
                actor_id=user_id,
                action="task.resubmitted",
                target=f"task {task.name}"[:255],
                detail={
                    "task_id": task.id,
                    "func": task.func,
                    "group": task.group,
                    "succeeded": task.success,
                },
            )
            if remove_failures and not task.success:
                task.delete()
            count += 1
    return count
