from django.db import models


class RateCounter(models.Model):
    """Requests counted in one fixed window for one (app, resource) key.

    One row per key and window; every process increments it with a conditional UPDATE inside a
    transaction, so counts stay exact across web processes (see services/ratelimit.py).
    """

    key = models.CharField("key", max_length=200, help_text="`app:<id>:<resource>`.")
    window = models.CharField("window", max_length=8, help_text="`burst` or `day`.")
    window_start = models.BigIntegerField("window start (ms since epoch)")
    count = models.PositiveIntegerField("requests", default=0)

    class Meta:
        verbose_name = "rate counter"
        constraints = [
            models.UniqueConstraint(
                fields=["key", "window", "window_start"], name="sandbox_access_rate_window"
            ),
        ]

    def __str__(self):
        return f"{self.key} {self.window}@{self.window_start}: {self.count}"
