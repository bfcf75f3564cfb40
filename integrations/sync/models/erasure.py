from django.conf import settings
from django.db import models


class ErasureTombstone(models.Model):
    """What is left of a person's record after their personal data was erased: no personal data.

    Says which record (location, entity, HighLevel id) was emptied, when, by whom and why; the
    person's e-mail and phone are kept only as keyed hashes (HMAC-SHA256 under the portal's secret
    key), so a later request about the same person finds the tombstone without the portal
    holding the address. Written only by ``integrations.sync.erasure``.
    """

    class Reason(models.TextChoices):
        REQUEST = "request", "erasure request"
        EXPIRED = "expired", "deleted in HighLevel, grace period over"

    location = models.ForeignKey(
        "portal.Location", on_delete=models.CASCADE, related_name="+", verbose_name="location"
    )
    entity = models.CharField("entity", max_length=40, help_text="The Rankr record kind.")
    ghl_id = models.CharField(
        "HighLevel id", max_length=64, blank=True, help_text="Empty for a record never sent."
    )
    record_id = models.BigIntegerField("Rankr record", null=True, blank=True)
    email_hash = models.CharField("e-mail (keyed hash)", max_length=64, blank=True, db_index=True)
    phone_hash = models.CharField("phone (keyed hash)", max_length=64, blank=True, db_index=True)
    reason = models.CharField("why", max_length=16, choices=Reason.choices)
    erased_at = models.DateTimeField("erased", auto_now_add=True, db_index=True)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="erased by",
        help_text="Empty when the scheduler erased it (grace period over).",
    )

    class Meta:
        verbose_name = "erasure tombstone"
        ordering = ["-erased_at", "-id"]
        indexes = [
            models.Index(fields=["location", "entity", "ghl_id"], name="erasure_record"),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.ghl_id or self.record_id} erased"
