from django.db import models


class Verification(models.Model):
    """One measurement of how far a location's Rankr copy of one entity is from HighLevel.

    The verifier (``integrations.sync.verify``) re-reads a random sample of records from HighLevel,
    compares each field by field with Rankr through the location's current mapping and repairs what
    differs; each run leaves one row per location and entity, so the history is kept.
    """

    location = models.ForeignKey(
        "portal.Location",
        on_delete=models.CASCADE,
        related_name="verifications",
        verbose_name="location",
    )
    entity = models.CharField("entity", max_length=40, db_index=True)
    job = models.ForeignKey(
        "integrations.Job",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="job",
        help_text="The verifier run; its sync log holds the HighLevel calls, its records' history "
        "the repairs.",
    )
    measured_at = models.DateTimeField("measured", auto_now_add=True, db_index=True)
    sample_size = models.PositiveIntegerField(
        "sample size", default=0, help_text="Records compared (Rankr's sample and HighLevel's)."
    )
    mismatched = models.PositiveIntegerField(
        "mismatched",
        default=0,
        help_text="Records whose Rankr copy differed: a field, missing in Rankr, or deleted in "
        "HighLevel but live in Rankr.",
    )
    missing = models.PositiveIntegerField(
        "missing in Rankr", default=0, help_text="Live in HighLevel, absent or deleted in Rankr."
    )
    gone = models.PositiveIntegerField(
        "gone from HighLevel", default=0, help_text="Live in Rankr, not found in HighLevel."
    )
    repaired = models.PositiveIntegerField("repaired", default=0)
    mismatch_rate = models.FloatField(
        "mismatch rate", default=0.0, help_text="Mismatched over sample size (0 to 1)."
    )
    coverage_age_s = models.PositiveIntegerField(
        "coverage age (s)",
        null=True,
        blank=True,
        help_text="How long since every record of the entity was last confirmed, when known.",
    )
    requests = models.PositiveIntegerField("HighLevel requests", default=0)
    details = models.JSONField(
        "differences",
        default=list,
        blank=True,
        help_text="The first differences found: HighLevel id, what differed (field names only).",
    )

    class Meta:
        verbose_name = "verification"
        ordering = ["-measured_at", "-id"]
        permissions = [("export_verification", "Can export verifications as CSV")]
        indexes = [
            models.Index(fields=["location", "entity", "-measured_at"], name="verify_latest"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.entity} at {self.location_id}: {self.mismatch_rate:.1%} of {self.sample_size}"
        )


class SpecDeviation(models.Model):
    """An answer from HighLevel that did not match its operation's response schema in the spec.

    The door validates a sample of live answers; a change on HighLevel's side shows here as data.
    One row per operation and deviation message, counted.
    """

    operation = models.CharField("operation", max_length=300, db_index=True)
    status = models.PositiveSmallIntegerField("HTTP status", default=200)
    message = models.CharField("deviation", max_length=500)
    path = models.CharField(
        "where", max_length=300, blank=True, help_text="JSON path in the answer."
    )
    count = models.PositiveIntegerField("times seen", default=1)
    first_seen_at = models.DateTimeField("first seen", auto_now_add=True)
    last_seen_at = models.DateTimeField("last seen", auto_now=True, db_index=True)

    class Meta:
        verbose_name = "spec deviation"
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["operation", "status", "path", "message"], name="spec_deviation_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.operation}: {self.message}"
