from django.db import models


class WebhookKey(models.Model):
    """The sandbox's own signing keys. The private half is Fernet-encrypted.

    Rotation as HighLevel announces it (docs/oauth/WebhookAuthentication.md: the key will be
    rotated, announced beforehand): a *next* key is published beside the *current* one, then
    signing moves to it and the old key stays published as *previous* until it is removed, so a
    receiver that verifies against every published key drops no event.
    """

    ED25519 = "ed25519"
    RSA = "rsa"
    KINDS = [(ED25519, "Ed25519 (x-ghl-signature)"), (RSA, "RSA-SHA256 (x-wh-signature)")]
    NEXT = "next"
    CURRENT = "current"
    PREVIOUS = "previous"
    STATES = [
        (CURRENT, "current (signs)"),
        (NEXT, "next (published, not signing yet)"),
        (PREVIOUS, "previous (published until removed)"),
    ]

    kind = models.CharField("kind", max_length=10, choices=KINDS)
    state = models.CharField(
        "state",
        max_length=10,
        choices=STATES,
        default=CURRENT,
        help_text="Only the current key signs; every key is published at /sandbox/webhook-keys.",
    )
    public_pem = models.TextField("public key (PEM)")
    private_encrypted = models.BinaryField("private key (encrypted)", editable=False)
    created_at = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        verbose_name = "webhook signing key"
        ordering = ["kind", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(state="current"),
                name="sandbox_access_one_current_key",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(state="next"),
                name="sandbox_access_one_next_key",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}, {self.state}"


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
