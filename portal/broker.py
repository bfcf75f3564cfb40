"""The broker, handed many django-q2 tasks at once (core: the sync layer's jobs use it)."""

from collections.abc import Sequence
from typing import Any

from django.db import transaction


class _Gathered:
    """Stands in for the broker while ``async_task`` builds and signs each task: keeps the
    packages, which :func:`tasks_push` then hands to the real broker together."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker
        self.list_key = broker.list_key
        self.packages: list[Any] = []

    def enqueue(self, package: Any) -> None:
        self.packages.append(package)


def tasks_push(
    func: str, calls: Sequence[tuple[Any, ...]], *, broker: Any = None, **options: Any
) -> None:
    """Queue ``func(*args)`` for each ``args`` in ``calls``, all or none: one ``RPUSH`` on Redis
    (one round trip, one connection), one transaction on the ORM broker. Each task is built by
    django-q2's own ``async_task`` (its signing, ids and options); raises when the broker does
    not take them. ``broker``: the one to use (django-q2 makes a new one otherwise)."""
    from django_q.brokers import get_broker
    from django_q.brokers.redis_broker import Redis
    from django_q.conf import Conf
    from django_q.tasks import async_task

    broker = broker or get_broker()
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
