from django.db import models


class WebhookKey(models.Model):
    """The sandbox's own signing keys, generated once. The private half is Fernet-encrypted."""

    ED25519 = "ed25519"
    RSA = "rsa"
    KINDS = [(ED25519, "Ed25519 (x-ghl-signature)"), (RSA, "RSA-SHA256 (x-wh-signature)")]

    kind = models.CharField("kind", max_length=10, choices=KINDS, unique=True)
    public_pem = models.TextField("public key (PEM)")
    private_encrypted = models.BinaryField("private key (encrypted)", editable=False)
    created_at = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        verbose_name = "webhook signing key"

    def __str__(self):
        return self.get_kind_display()


class WebhookEvent(models.Model):
    """An event the sandbox emitted for a location (one row, many deliveries)."""

    webhook_id = models.CharField("webhook id", max_length=64, unique=True)
    location_id = models.CharField("location id", max_length=64, db_index=True)
    event_type = models.CharField("type", max_length=64)
    body = models.TextField("body", help_text="The exact JSON bytes that were signed and sent.")
    created_at = models.DateTimeField("created", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "webhook event"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.event_type} for {self.location_id}"


class WebhookDelivery(models.Model):
    """One app's delivery of an event: the outcome of the last attempt."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    STATUSES = [(PENDING, "pending"), (DELIVERED, "delivered"), (FAILED, "failed")]

    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name="event"
    )
    app = models.ForeignKey(
        "sandbox_access.MarketplaceApp",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="app",
    )
    url = models.URLField("URL")
    status = models.CharField("status", max_length=10, choices=STATUSES, default=PENDING)
    attempts = models.PositiveSmallIntegerField("attempts", default=0)
    response_status = models.PositiveSmallIntegerField("HTTP status", null=True, blank=True)
    error = models.CharField("error", max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField("duration (ms)", null=True, blank=True)
    finished_at = models.DateTimeField("finished", null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "app"], name="sandbox_access_deliver_once"),
        ]

    def __str__(self):
        return f"{self.event} → {self.url}: {self.status}"
