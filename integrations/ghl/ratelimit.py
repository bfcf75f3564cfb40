"""The request budget per (app, location or company), shared by every process through the database.

HighLevel allows 100 requests per 10 s and 200,000 per day per app per resource
(specs/highlevel/docs/oauth/Authorization.md). The limiter keeps a sliding log of send times in
one :class:`RateBucket` row per key, taken under a row lock (``select_for_update`` on PostgreSQL;
SQLite's IMMEDIATE transactions serialise writers the same way), so no window of
``interval + safety`` ever holds more than the limit. Answers' ``X-RateLimit-*`` headers keep it
in step with the server: usage we did not see (another client of the same app) is added to the
log, a smaller server limit is adopted, and a 429 blocks the key until ``Retry-After``.

Bulk work (backfills, reconciliation walks, the verifier) runs inside :func:`ratelimit_bulk` and
may use only what the reserve leaves: ``GHL_RATE_LIMIT_RESERVE`` of the burst window and of the
day stay for incremental polls and resyncs, so a big backfill never starves them.
"""

import bisect
import contextvars
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from integrations.ghl.errors import GhlRateLimited
from integrations.ghl.headers import headers_lower
from integrations.ghl.models import RateBucket
from integrations.ghl.statements import (
    Prepared,
    row_get,
    row_update,
    row_update_if,
    value_prepare,
)

_sleep = time.sleep  # tests replace these two with a fake clock
_now = time.time


_BULK: contextvars.ContextVar[bool] = contextvars.ContextVar("ghl_ratelimit_bulk", default=False)


@contextmanager
def ratelimit_bulk(active: bool = True) -> Iterator[None]:
    """Requests sent inside count as bulk work: they leave the reserve to incremental ones."""
    token = _BULK.set(active or _BULK.get())
    try:
        yield
    finally:
        _BULK.reset(token)


def _reserved(limit: int) -> int:
    """How many of ``limit`` bulk work may not use (at least one when a reserve is set)."""
    share = float(settings.GHL_RATE_LIMIT_RESERVE)
    if not _BULK.get() or share <= 0:
        return 0
    return min(max(1, int(limit * share)), limit - 1)


def ratelimit_key(*, app_id: int, resource_id: str) -> str:
    return f"{app_id}:{resource_id}"


def _bucket_locked(key: str) -> RateBucket:
    """The key's bucket under its row lock (made on first use); read by a statement built once,
    as every request reads it."""
    found = row_get(model=RateBucket, by="key", value=key, lock=True)
    if found is not None:
        return found
    try:
        with transaction.atomic():
            RateBucket.objects.create(key=key)
    except IntegrityError:  # another process created it first
        pass
    return RateBucket.objects.select_for_update().get(key=key)


def _bucket_write(bucket: RateBucket, fields: Iterable[str]) -> None:
    """Write these fields of the locked bucket (a statement built once). This thread's view of
    the row is dropped: its next take reads the row again."""
    _known(bucket.key)
    row_update(model=RateBucket, pk=bucket.pk, values={f: getattr(bucket, f) for f in fields})


def _seconds_to_midnight(now: float) -> float:
    moment = datetime.fromtimestamp(now, tz=UTC)
    midnight = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - moment).total_seconds()


def _window() -> float:
    return float(settings.GHL_RATE_LIMIT_INTERVAL_MS + settings.GHL_RATE_LIMIT_SAFETY_MS) / 1000


@dataclass
class _State:
    """A bucket's row as this thread last read or wrote it (stamps sorted)."""

    pk: int
    key: str
    stamps: list[float]
    day: date | None
    day_count: int
    blocked_until: float
    server_limit: int | None
    server_daily_remaining: int | None
    stamps_db: Prepared | None = None  # ``stamps`` as last written, prepared for the database

    @classmethod
    def of(cls, bucket: RateBucket) -> "_State":
        return cls(
            pk=bucket.pk,
            key=bucket.key,
            stamps=sorted(bucket.stamps),
            day=bucket.day,
            day_count=bucket.day_count,
            blocked_until=bucket.blocked_until,
            server_limit=bucket.server_limit,
            server_daily_remaining=bucket.server_daily_remaining,
        )

    def row(self) -> dict[str, Any]:
        """The columns a take reads, as a compare-and-set expects them."""
        return {
            "key": self.key,
            "stamps": self.stamps_db or self.stamps,
            "day": self.day,
            "day_count": self.day_count,
            "blocked_until": self.blocked_until,
            "server_limit": self.server_limit,
            "server_daily_remaining": self.server_daily_remaining,
        }


def _take_plan(state: _State, now: float) -> tuple[float, _State | None]:
    """A take at ``now`` from ``state``: (0, the state after it), or (seconds to wait, None)."""
    day, day_count, daily_remaining = state.day, state.day_count, state.server_daily_remaining
    today = datetime.fromtimestamp(now, tz=UTC).date()
    if day != today:
        day, day_count, daily_remaining = today, 0, None
    limit = settings.GHL_RATE_LIMIT_BURST
    if state.server_limit:
        limit = min(limit, state.server_limit)
    window = _window()
    stamps = state.stamps[bisect.bisect_right(state.stamps, now - window) :]
    if state.blocked_until > now:
        return state.blocked_until - now, None
    daily = settings.GHL_RATE_LIMIT_DAILY
    if day_count >= daily - _reserved(daily) or daily_remaining == 0:
        return _seconds_to_midnight(now), None
    limit -= _reserved(limit)
    if len(stamps) >= limit:
        return max(stamps[-limit] + window - now, 0.001), None
    bisect.insort(stamps, now)  # at the end, unless another process's clock ran ahead
    return 0, replace(
        state,
        stamps=stamps,
        day=day,
        day_count=day_count + 1,
        server_daily_remaining=daily_remaining,
        stamps_db=None,
    )


_TAKE_WRITES = ("stamps", "day", "day_count", "server_daily_remaining")


def _try_take(key: str) -> tuple[float, float]:
    """Record one send: (0, its stamp), or (seconds to wait before asking again, 0).

    When this thread wrote the bucket last (one worker paging one location: the usual case), the
    take is planned from the row as it left it and written by one compare-and-set statement
    that only succeeds if the row is still exactly that: no transaction, lock or read. Else (or
    when that finds the row changed, or the plan is to wait) it reads the row under its lock."""
    known = _known(key)
    if known is not None:
        now = _now()
        wait, after = _take_plan(known, now)
        if after is not None:
            stamps_db = value_prepare(model=RateBucket, name="stamps", value=after.stamps)
            if row_update_if(
                model=RateBucket,
                pk=known.pk,
                values={
                    "stamps": stamps_db,
                    "day": after.day,
                    "day_count": after.day_count,
                    "server_daily_remaining": after.server_daily_remaining,
                },
                expected=known.row(),
            ):
                after.stamps_db = stamps_db
                return _took(key, after, now)
    with transaction.atomic():
        bucket = _bucket_locked(key)
        now = _now()
        state = _State.of(bucket)
        wait, after = _take_plan(state, now)
        if after is None:
            _known(key, state)
            return wait, 0
        after.stamps_db = value_prepare(model=RateBucket, name="stamps", value=after.stamps)
        row_update(
            model=RateBucket,
            pk=after.pk,
            values={name: getattr(after, name) for name in _TAKE_WRITES}
            | {"stamps": after.stamps_db},
        )
    return _took(key, after, now)


def _took(key: str, after: _State, now: float) -> tuple[float, float]:
    _known(key, after)
    _taken(key, Taken(after.stamps, after.server_limit, after.server_daily_remaining))
    return 0, now


@dataclass(frozen=True)
class Taken:
    """The bucket as this thread left it when it last took a send (its stamps, newest last)."""

    stamps: list[float]
    server_limit: int | None
    server_daily_remaining: int | None


_local = threading.local()


def _known(key: str, state: _State | None = None) -> _State | None:
    """This thread's last view of ``key``'s bucket: set it, or take it (it is handed out once:
    a take that fails before writing leaves none, and the next one reads the row)."""
    seen: dict[str, _State] = _local.__dict__.setdefault("known", {})
    if state is not None:
        seen[key] = state
        return state
    return seen.pop(key, None)


def _taken(key: str, taken: Taken | None = None) -> Taken | None:
    """Set this thread's last take of ``key``; without ``taken``, hand it over (once)."""
    seen: dict[str, Taken] = _local.__dict__.setdefault("taken", {})
    if taken is not None:
        seen[key] = taken
        return taken
    return seen.pop(key, None)


def _observe_needless(
    taken: Taken, limit: int | None, remaining: int | None, daily_remaining: int | None
) -> bool:
    """True when the answer's headers cannot change the bucket, judged from this thread's last
    take without reading it: the same limit, nothing spent that the stamps do not already show
    (stamps in the window only grow until they expire, so the row holds at least these), the
    same low daily remainder. Otherwise :func:`_observe_apply` decides on the locked row."""
    if limit and limit != taken.server_limit:
        return False
    if limit is not None and remaining is not None:
        horizon = _now() - _window()
        in_window = len(taken.stamps) - bisect.bisect_right(taken.stamps, horizon)
        if (limit - remaining) - in_window > 0:
            return False
    if daily_remaining is not None:
        low = daily_remaining if daily_remaining < 1000 else None
        if low != taken.server_daily_remaining:
            return False
    return True


def ratelimit_acquire(*, key: str) -> float:
    """Wait until ``key`` has budget for one request, count it, and return its stamp.

    Raises :class:`GhlRateLimited` (transient, with ``retry_after``) instead of waiting longer
    than GHL_RATE_LIMIT_MAX_WAIT seconds, so a job can be rescheduled rather than hang.
    """
    waited = 0.0
    while True:
        wait, stamp = _try_take(key)
        if wait <= 0:
            return stamp
        if waited + wait > settings.GHL_RATE_LIMIT_MAX_WAIT:
            raise GhlRateLimited(
                "The request budget for this location is used up; try again later.",
                retry_after=round(wait, 3),
            )
        _sleep(wait)
        waited += wait


def ratelimit_settle(*, key: str, stamp: float) -> None:
    """Call when the answer is in. If the request may have reached the server later than its
    stamp by more than the safety margin (a slow send, a busy machine), move the stamp to now:
    the server counted it no later than this, so the budget never frees its slot too early.
    """
    now = _now()
    if now - stamp <= settings.GHL_RATE_LIMIT_SAFETY_MS / 1000:
        return
    known = _known(key)  # as for a take: a compare-and-set when this thread wrote it last
    if known is not None:
        stamps = _settled(known.stamps, stamp=stamp, now=now)
        stamps_db = value_prepare(model=RateBucket, name="stamps", value=stamps)
        if row_update_if(
            model=RateBucket, pk=known.pk, values={"stamps": stamps_db}, expected=known.row()
        ):
            _known(key, replace(known, stamps=stamps, stamps_db=stamps_db))
            return
    with transaction.atomic():
        bucket = _bucket_locked(key)
        bucket.stamps = _settled(sorted(bucket.stamps), stamp=stamp, now=now)
        _bucket_write(bucket, ["stamps"])


def _settled(stamps: list[float], *, stamp: float, now: float) -> list[float]:
    """The sorted ``stamps`` in the window with ``stamp`` moved to ``now``."""
    stamps = stamps[bisect.bisect_right(stamps, now - _window()) :]
    at = bisect.bisect_left(stamps, stamp)
    if at < len(stamps) and stamps[at] == stamp:
        del stamps[at]
    bisect.insort(stamps, now)
    return stamps


def _int_header(lowered: Mapping[str, str], name: str) -> int | None:
    """The header ``name`` (lower-case) as an integer, None when missing or not one."""
    try:
        return int(lowered[name])
    except (KeyError, TypeError, ValueError):
        return None


def ratelimit_observe(
    *,
    key: str,
    headers: Mapping[str, str],
    status: int | None,
    retry_after: float | None,
    stamp: float | None = None,
) -> None:
    """Bring the shared budget in step with what the server said about it. ``stamp``: the one
    :func:`ratelimit_acquire` gave this request in this thread (its take is remembered, so an
    answer that changes nothing costs no read of the bucket)."""
    lowered = headers_lower(headers)
    limit = _int_header(lowered, "x-ratelimit-max")
    remaining = _int_header(lowered, "x-ratelimit-remaining")
    daily_remaining = _int_header(lowered, "x-ratelimit-daily-remaining")
    interval_ms = _int_header(lowered, "x-ratelimit-interval-milliseconds")
    if status != 429 and limit is None and remaining is None and daily_remaining is None:
        return
    if status != 429:
        # Most answers change nothing: judge by this thread's last take, then look without the
        # lock, and take it only to write.
        taken = _taken(key) if stamp is not None else None
        if (
            taken is not None
            and taken.stamps[-1:] == [stamp]
            and _observe_needless(taken, limit, remaining, daily_remaining)
        ):
            return
        bucket = row_get(model=RateBucket, by="key", value=key)
        if bucket is not None and not _observe_apply(bucket, limit, remaining, daily_remaining):
            return
    with transaction.atomic():
        bucket = _bucket_locked(key)
        fields = _observe_apply(bucket, limit, remaining, daily_remaining)
        if status == 429:
            pause = retry_after or (interval_ms or settings.GHL_RATE_LIMIT_INTERVAL_MS) / 1000
            bucket.blocked_until = max(bucket.blocked_until, _now() + pause)
            fields.add("blocked_until")
        if fields:
            _bucket_write(bucket, sorted(fields))


def _observe_apply(
    bucket: RateBucket, limit: int | None, remaining: int | None, daily_remaining: int | None
) -> set[str]:
    """Update ``bucket`` in memory from the headers; return the names of the fields changed."""
    now = _now()
    fields: set[str] = set()
    if limit and limit != bucket.server_limit:
        bucket.server_limit = limit
        fields.add("server_limit")
    if limit is not None and remaining is not None:
        horizon = now - _window()
        stamps = sorted(s for s in bucket.stamps if s > horizon)
        unseen = (limit - remaining) - len(stamps)
        if unseen > 0:  # someone else spends this budget too: count their requests as ours
            bucket.stamps = stamps + [now] * unseen
            fields.add("stamps")
    if daily_remaining is not None:
        low = daily_remaining if daily_remaining < 1000 else None  # only worth storing when low
        if low != bucket.server_daily_remaining:
            bucket.server_daily_remaining = low
            fields.add("server_daily_remaining")
    return fields
