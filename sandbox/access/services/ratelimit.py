"""HighLevel's documented limits (docs/oauth/Authorization.md): a burst window and a daily window
per marketplace app per resource (location or company).

Counters live in the database, one row per key and fixed window, incremented by one atomic
upsert per request, so several processes share exact counts.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from sandbox.access.models import RateCounter

DAY_MS = 86_400_000


@dataclass(frozen=True)
class RateState:
    daily_limit: int
    daily_remaining: int
    interval_ms: int
    burst_max: int
    burst_remaining: int
    retry_after_s: int

    @property
    def exceeded(self) -> bool:
        return self.burst_remaining < 0 or self.daily_remaining < 0

    def headers(self) -> dict:
        return {
            "X-RateLimit-Limit-Daily": str(self.daily_limit),
            "X-RateLimit-Daily-Remaining": str(max(self.daily_remaining, 0)),
            "X-RateLimit-Interval-Milliseconds": str(self.interval_ms),
            "X-RateLimit-Max": str(self.burst_max),
            "X-RateLimit-Remaining": str(max(self.burst_remaining, 0)),
        }


def rate_key(*, app_id: int | None, token_id: int, resource: str) -> str:
    # Private integration tokens have no app: each token counts as its own client.
    client = f"app:{app_id}" if app_id else f"pit:{token_id}"
    return f"{client}:{resource}"


def _bump(*, key: str, burst_start: int, day_start: int) -> dict[str, int]:
    """Add one to both windows of ``key`` in one atomic upsert; returns the counts after it.

    ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` is one statement on PostgreSQL and SQLite
    (3.35+): the database serialises concurrent increments of a row, so no count is lost and
    each request sees its own number.
    """
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    q = connection.ops.quote_name
    sql = (
        f"INSERT INTO {table} ({q('key')}, {q('window')}, {q('window_start')}, {q('count')}) "  # noqa: S608 (quoted names; values are parameters)
        "VALUES (%s, 'burst', %s, 1), (%s, 'day', %s, 1) "
        f"ON CONFLICT ({q('key')}, {q('window')}, {q('window_start')}) "
        f"DO UPDATE SET {q('count')} = {table}.{q('count')} + 1 "
        f"RETURNING {q('window')}, {q('count')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, burst_start, key, day_start])
        counts = dict(cursor.fetchall())
    if counts["burst"] == 1:  # a new burst window: forget this key's older windows
        RateCounter.objects.filter(key=key, window="burst", window_start__lt=burst_start).delete()
        RateCounter.objects.filter(key=key, window="day", window_start__lt=day_start).delete()
    return counts


def rate_limit_hit(*, key: str, now_ms: int | None = None) -> RateState:
    """Count one request for ``key`` and return the state after it (``exceeded`` → answer 429)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    interval = settings.SANDBOX_RATE_INTERVAL_MS
    burst_max = settings.SANDBOX_RATE_BURST
    daily = settings.SANDBOX_RATE_DAILY
    burst_start = now_ms - now_ms % interval
    day_start = now_ms - now_ms % DAY_MS
    counts = _bump(key=key, burst_start=burst_start, day_start=day_start)
    burst_count, day_count = counts["burst"], counts["day"]
    burst_left = burst_max - burst_count
    day_left = daily - day_count
    if day_left < 0:
        retry_ms = day_start + DAY_MS - now_ms
    else:
        retry_ms = burst_start + interval - now_ms
    return RateState(
        daily_limit=daily,
        daily_remaining=day_left,
        interval_ms=interval,
        burst_max=burst_max,
        burst_remaining=burst_left,
        retry_after_s=max(1, -(-retry_ms // 1000)),
    )
