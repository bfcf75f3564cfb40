"""A total deadline for the HighLevel calls of one web request.

A page that calls HighLevel (test a connection, preview a mapping, list installed locations) must
answer in seconds whatever HighLevel does: the interfaces' middleware opens a deadline of
``GHL_WEB_DEADLINE_S`` around every request, and the door sends, waits and backs off only inside
it. Workers open none: a job's calls keep the door's full retries.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("ghl_deadline", default=None)


@contextmanager
def ghl_deadline(seconds: float) -> Iterator[None]:
    """Within this block every HighLevel call together gets at most ``seconds``."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def deadline_remaining() -> float | None:
    """Seconds left under the current deadline (never below 0), or None when there is none."""
    deadline = _deadline.get()
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)
