"""Heartbeats of the long-running processes: worker processes (qcluster) and dispatcher loops.

Each process writes its own :class:`Heartbeat` row on the database's clock: a worker process from
a daemon thread started when django-q2 spawns it (every ``HEARTBEAT_S`` seconds), a dispatcher
once per round. A component (worker, dispatcher) is *healthy* while at least one of its processes
beat within ``HEARTBEAT_STALE_S``, *stale* when all of its processes fell silent, and *missing*
when none ever beat (or all were forgotten). A process silent for ``HEARTBEAT_FORGET_S`` is
dropped by its component's live processes (a recycled worker process, a host taken away).
Read by the dashboard, ``/healthz`` and ``/metrics``.
"""

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Now

from integrations.sync.leases import db_ago, db_now
from integrations.sync.models import Heartbeat

logger = logging.getLogger(__name__)

HEALTHY, STALE, MISSING = "healthy", "stale", "missing"
COMPONENTS = tuple(Heartbeat.Component.values)


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_beat(*, component: str, process: str | None = None) -> None:
    """Record that ``process`` (default: this one) of ``component`` is alive, now (database's
    clock), and forget the component's processes silent for ``HEARTBEAT_FORGET_S``."""
    if component not in COMPONENTS:
        raise ValueError(f"Unknown component {component!r}: one of {', '.join(COMPONENTS)}.")
    process = process or process_name()
    updated = Heartbeat.objects.filter(component=component, process=process).update(
        beat_at=Now(), beats=F("beats") + 1
    )
    if not updated:
        now = db_now()
        try:
            with transaction.atomic():
                Heartbeat.objects.create(
                    component=component,
                    process=process,
                    host=process.rsplit(":", 1)[0],
                    started_at=now,
                    beat_at=now,
                    beats=1,
                )
        except IntegrityError:  # pragma: no cover - only this process writes its row
            pass
    Heartbeat.objects.filter(
        component=component, beat_at__lt=db_ago(seconds=settings.HEARTBEAT_FORGET_S)
    ).delete()


class HeartbeatThread(threading.Thread):
    """Beats for ``component`` every ``HEARTBEAT_S`` seconds until the process ends."""

    def __init__(self, component: str) -> None:
        super().__init__(name=f"{component}-heartbeat", daemon=True)
        self.component = component
        self.halt = threading.Event()

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                try:
                    heartbeat_beat(component=self.component)
                except DatabaseError:  # the next beat tries again; staleness shows meanwhile
                    logger.warning("%s heartbeat failed", self.component, exc_info=True)
                    connection.close()
                self.halt.wait(settings.HEARTBEAT_S)
        finally:
            connection.close()  # this thread's own connection

    def stop(self, timeout: float = 5.0) -> None:
        self.halt.set()
        self.join(timeout)


_worker_threads: list[HeartbeatThread] = []  # this process's (one at most)


def heartbeat_worker_start(**_signal: object) -> HeartbeatThread | None:
    """Start this worker process's heartbeat thread (django-q2's ``post_spawn``), once.

    Not in django-q2's inline mode (``sync``): its "worker" is the caller's own process (a web
    request, a command, a test), which is no worker and must not beat as one."""
    from django_q.conf import Conf

    if Conf.SYNC:
        return None
    alive = [thread for thread in _worker_threads if thread.is_alive()]
    if alive:
        return alive[0]
    thread = HeartbeatThread(Heartbeat.Component.WORKER)
    _worker_threads[:] = [thread]
    thread.start()
    return thread


@dataclass(frozen=True)
class ProcessHealth:
    process: str
    host: str
    age_s: float
    stale: bool
    started_at: datetime


@dataclass
class ComponentHealth:
    component: str
    label: str
    required: bool
    status: str = MISSING
    age_s: float | None = None  # its newest beat's age (None: none)
    processes: list[ProcessHealth] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.status == HEALTHY

    @property
    def live_processes(self) -> int:
        return sum(1 for p in self.processes if not p.stale)

    @property
    def stale_processes(self) -> int:
        return sum(1 for p in self.processes if p.stale)


def heartbeats_status(*, now: datetime | None = None) -> list[ComponentHealth]:
    """Every component's health, from its processes' heartbeats (ages on the database's clock)."""
    now = now or db_now()
    stale_after = settings.HEARTBEAT_STALE_S
    components = {
        value: ComponentHealth(
            component=value, label=str(label), required=value in settings.HEALTHZ_REQUIRED
        )
        for value, label in Heartbeat.Component.choices
    }
    for row in Heartbeat.objects.order_by("component", "host", "process"):
        item = components.get(row.component)
        if item is None:
            continue
        age = max((now - row.beat_at).total_seconds(), 0.0)
        item.processes.append(
            ProcessHealth(
                process=row.process,
                host=row.host,
                age_s=age,
                stale=age > stale_after,
                started_at=row.started_at,
            )
        )
        item.age_s = age if item.age_s is None else min(item.age_s, age)
    for item in components.values():
        if item.age_s is not None:
            item.status = HEALTHY if item.age_s <= stale_after else STALE
    return list(components.values())
