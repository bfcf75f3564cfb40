"""Times as operators read them: to the second, with the time zone, in the portal's zone."""

from django.utils import timezone

FORMAT = "%Y-%m-%d %H:%M:%S %Z"


def time_show(value) -> str:
    """``2026-12-01 18:34:08 UTC`` (empty for None)."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime(FORMAT)


def seconds_show(seconds: float) -> str:
    """A short duration: ``40 s``, ``3 min 5 s``, ``2 h 4 min``."""
    seconds = max(round(seconds), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
