"""Backfill progress as text: the admin column and the backfill command's bar."""

from datetime import datetime

from django.utils import timezone

from integrations.sync.models import Subscription


def progress_text(
    subscription: Subscription, *, now: datetime | None = None, width: int = 30, bar: bool = False
) -> str:
    """ "4,300 / 20,000 records · 43 pages · 812 records/s · ETA 19 s" (with a bar if asked)."""
    now = now or timezone.now()
    s = subscription
    if not s.backfill_started_at:
        return "not started"
    total = s.backfill_total
    parts = [
        f"{s.backfill_records:,}" + (f" / {total:,}" if total else "") + " records",
        f"{s.backfill_pages:,} pages",
    ]
    rate = s.backfill_rate(now)
    if rate:
        parts.append(f"{rate:,.0f} records/s")
    if s.backfill_finished_at:
        parts.append(f"done in {duration_text(s.backfill_elapsed_s(now))}")
    else:
        eta = s.backfill_eta_s(now)
        if eta is not None:
            parts.append(f"ETA {duration_text(eta)}")
    text = " · ".join(parts)
    if bar:
        done = (
            1.0
            if s.backfill_finished_at
            else (min(s.backfill_records / total, 1.0) if total else 0.0)
        )
        filled = int(done * width)
        text = f"[{'#' * filled}{'.' * (width - filled)}] {done:4.0%} {text}"
    return text


def duration_text(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, seconds = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
