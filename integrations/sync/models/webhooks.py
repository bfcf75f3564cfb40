from django.db import models


class WebhookEvent(models.Model):
    """One webhook delivery from HighLevel, stored before it is processed.

    Authentic events are unique by `webhookId` (a replay is answered but not stored twice);
    rejected deliveries are kept too, with the reason, for the audit trail.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "received"
        PROCESSED = "processed", "processed"
        IGNORED = "ignored", "ignored (type not handled)"
        FAILED = "failed", "failed"
        WAITING = "waiting", "waiting for its location to be connected"
        REJECTED = "rejected", "rejected (not authentic)"

    received_at = models.DateTimeField("received", auto_now_add=True, db_index=True)
    webhook_id = models.CharField("webhook id", max_length=100, blank=True, db_index=True)
    event_type = models.CharField("type", max_length=80, blank=True, db_index=True)
    highlevel_location_id = models.CharField("HighLevel location id", max_length=64, blank=True)
    location = models.ForeignKey(
        "portal.Location",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="location",
    )
    scheme = models.CharField(
        "signature", max_length=10, blank=True, help_text="ed25519 (x-ghl-signature) or rsa."
    )
    payload = models.JSONField("payload", null=True, blank=True)
    status = models.CharField(
        "status", max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    reason = models.CharField("rejection or failure reason", max_length=300, blank=True)
    processed_at = models.DateTimeField("processed", null=True, blank=True)

    class Meta:
        verbose_name = "webhook event"
        ordering = ["-received_at", "-id"]
        permissions = [("export_webhookevent", "Can export webhook events as CSV")]
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="webhook_recent"),
            models.Index(fields=["location", "-received_at"], name="webhook_location_recent"),
            models.Index(fields=["highlevel_location_id"], name="webhook_hl_location"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["webhook_id"],
                condition=~models.Q(status="rejected"),
                name="webhook_id_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type or 'webhook'} {self.webhook_id} ({self.status})"
