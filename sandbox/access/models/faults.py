from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

RATE = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class FaultRule(models.Model):
    """Faults injected into API answers, for one location or for all (blank location id).

    Each request that reaches a rule takes the next number ``n`` of its sequence; whether the
    request is faulted is drawn from ``random.Random(f"{seed}:{n}")``, so a given seed faults the
    same requests every run.
    """

    location_id = models.CharField(
        "location id",
        max_length=64,
        blank=True,
        unique=True,
        help_text="Blank = global (applies where no rule for the location exists).",
    )
    enabled = models.BooleanField("enabled", default=True)
    seed = models.BigIntegerField("seed", default=0, help_text="Same seed, same faulted requests.")
    storm_rate = models.FloatField(
        "429 storm rate",
        default=0.0,
        validators=RATE,
        help_text="Share of requests (0–1) answered 429 while the storm lasts.",
    )
    storm_until = models.DateTimeField(
        "429 storm until", null=True, blank=True, help_text="Blank = no time limit."
    )
    retry_after = models.PositiveIntegerField(
        "Retry-After (s)", default=10, help_text="Sent with storm 429s."
    )
    error_rate = models.FloatField(
        "5xx rate", default=0.0, validators=RATE, help_text="Share of requests answered 5xx."
    )
    error_status = models.PositiveSmallIntegerField(
        "5xx status",
        default=503,
        validators=[MinValueValidator(500), MaxValueValidator(599)],
    )
    latency_ms = models.PositiveIntegerField(
        "added latency (ms)", default=0, help_text="Added before every answer."
    )
    drop_rate = models.FloatField(
        "dropped connection rate",
        default=0.0,
        validators=RATE,
        help_text="Share of answers cut off mid-body (the client sees a connection error).",
    )
    html_rate = models.FloatField(
        "HTML error page rate",
        default=0.0,
        validators=RATE,
        help_text="Share of requests answered with a 502 HTML page instead of JSON.",
    )
    refuse_refresh = models.BooleanField(
        "refuse refresh",
        default=False,
        help_text="Refresh-token grants for this scope fail with invalid_grant.",
    )
    request_count = models.BigIntegerField(
        "requests seen", default=0, editable=False, help_text="Position in the seeded sequence."
    )
    updated_at = models.DateTimeField("updated", auto_now=True)

    class Meta:
        verbose_name = "fault rule"
        ordering = ["location_id"]

    def __str__(self):
        return f"faults for {self.location_id or 'all locations'}"
