"""django-q2 tasks: handing many to the broker at once; resubmitting one (a deliberate, audited
act)."""

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from portal.models import AuditEvent


class _Gathered:
    """Stands in for the broker while ``async_task`` builds and signs each task: keeps the
    packages, which :func:`tasks_push` then hands to the real broker together."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker
        self.list_key = broker.list_key
        self.packages: list[Any] = []

    def enqueue(self, package: Any) -> None:
        self.packages.append(package)


def tasks_push(func: str, calls: Sequence[tuple[Any, ...]], **options: Any) -> None:
    """Queue ``func(*args)`` for each ``args`` in ``calls``, all or none: one ``RPUSH`` on Redis
    (one round trip, one connection), one transaction on the ORM broker. Each task is built by
    django-q2's own ``async_task`` (its signing, ids and options); raises when the broker does
    not take them."""
    from django_q.brokers import get_broker
    from django_q.brokers.redis_broker import Redis
    from django_q.conf import Conf
    from django_q.tasks import async_task

    broker = get_broker()
    gathered = _Gathered(broker)
    for args in calls:
        async_task(func, *args, broker=gathered, **options)
    if not gathered.packages:
        return
    if isinstance(broker, Redis):
        broker.connection.rpush(broker.list_key, *gathered.packages)
        return
    with transaction.atomic(using=Conf.ORM or None):  # the ORM broker's rows: all or none
        for package in gathered.packages:
            broker.enqueue(package)


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
