"""HighLevel's documented limits (docs/oauth/Authorization.md): a burst window and a daily window
per marketplace app per resource (location or company).

Counters live in the database, one row per key and fixed window. Every request increments its
rows with a conditional UPDATE inside one transaction: PostgreSQL holds the row lock until commit
and SQLite (IMMEDIATE transactions) the write lock, so two processes never lose a count.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

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


def _bump(*, key: str, window: str, start: int) -> int:
    updated = RateCounter.objects.filter(key=key, window=window, window_start=start).update(
        count=F("count") + 1
    )
    if not updated:
        try:
            with transaction.atomic():
                RateCounter.objects.create(key=key, window=window, window_start=start, count=1)
            # A new window: forget this key's older windows of the same kind.
            RateCounter.objects.filter(key=key, window=window, window_start__lt=start).delete()
            return 1
        except IntegrityError:  # another process created it first
            RateCounter.objects.filter(key=key, window=window, window_start=start).update(
                count=F("count") + 1
            )
    return RateCounter.objects.values_list("count", flat=True).get(
        key=key, window=window, window_start=start
    )


def rate_limit_hit(*, key: str, now_ms: int | None = None) -> RateState:
    """Count one request for ``key`` and return the state after it (``exceeded`` → answer 429)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    interval = settings.SANDBOX_RATE_INTERVAL_MS
    burst_max = settings.SANDBOX_RATE_BURST
    daily = settings.SANDBOX_RATE_DAILY
    burst_start = now_ms - now_ms % interval
    day_start = now_ms - now_ms % DAY_MS
    with transaction.atomic():
        burst_count = _bump(key=key, window="burst", start=burst_start)
        day_count = _bump(key=key, window="day", start=day_start)
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
