"""The host's clock, and a hook that sets it off (a host whose clock is wrong, for tests and benches).

Two clocks tell the portal the time. The **database's** (``integrations.sync.leases``: ``Now()``
in SQL, ``db_now()``) decides everything hosts must agree on: job claims and leases, subscription
claims and due times, heartbeats. The **host's** (Django's ``timezone.now()``) dates what one
process does: displays, log and record times, ages, HighLevel token expiry.

``PORTAL_CLOCK_OFFSET_S`` (settings; refused in production) moves this process's host clock by
that many seconds: ``timezone.now()`` and, through it, ``auto_now`` fields, model defaults and
django-q2's own ORM-broker locks. ``bench/fault_matrix.py`` runs one of its two hosts 20 s off
with it, so a code path that reads the host's clock where hosts must agree shows up as a
subscription run twice at once. On SQLite the database's clock is the machine's (SQLite runs in
each process), which the offset leaves alone, as two processes on one machine share it.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.utils import timezone

_REAL_NOW: Callable[[], datetime] = timezone.now


def clock_offset_install(*, seconds: float) -> None:
    """Make this process's ``timezone.now()`` read ``seconds`` off the real time (0: the real
    time again). Call before the models are imported (the settings do), so model defaults bound
    to ``timezone.now`` read it too."""
    if not seconds:
        timezone.now = _REAL_NOW
        return
    offset = timedelta(seconds=seconds)

    def now() -> datetime:
        return _REAL_NOW() + offset

    timezone.now = now
