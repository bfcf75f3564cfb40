from django.db import models


class RateBucket(models.Model):
    """Shared request budget for one (app, location or company): the limiter's state.

    A sliding log of send times (at most ``burst`` floats) plus the day's count, one row per key,
    read and written under a row lock so every process and worker sees the same budget.
    """

    key = models.CharField("key", max_length=200, unique=True)
    stamps = models.JSONField("recent send times", default=list, blank=True)
    day = models.DateField("day", null=True, blank=True)
    day_count = models.PositiveIntegerField("requests today", default=0)
    blocked_until = models.FloatField(
        "blocked until", default=0, help_text="Unix time before which nothing is sent (429)."
    )
    server_limit = models.PositiveIntegerField(
        "server burst limit", null=True, blank=True, help_text="Last X-RateLimit-Max seen."
    )
    server_daily_remaining = models.IntegerField(
        "server daily remaining",
        null=True,
        blank=True,
        help_text="Last X-RateLimit-Daily-Remaining.",
    )

    class Meta:
        verbose_name = "rate-limit bucket"

    def __str__(self) -> str:
        return self.key
