from django.conf import settings
from django.db import models
from django.db.models import Q

from integrations.ghl.models.apps import HighLevelApp
from portal.crypto import EncryptedSecret


class Connection(models.Model):
    """The portal's authorisation to act on one HighLevel location or agency (company).

    Tokens live only as ciphertext; :class:`portal.crypto.EncryptedSecret` decrypts them on
    demand. Refresh happens in :mod:`integrations.ghl.oauth` under a row lock, never here.
    """

    class Kind(models.TextChoices):
        LOCATION = "location", "Location (sub-account)"
        AGENCY = "agency", "Agency (company)"

    class AuthType(models.TextChoices):
        OAUTH = "oauth", "OAuth"
        AGENCY_MINTED = "agency_minted", "Location token from the agency connection"
        PRIVATE = "private", "Private integration token"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_REAUTH = "needs_reauth", "Needs re-auth"
        DISCONNECTED = "disconnected", "Disconnected"
        UNINSTALLED = "uninstalled", "Uninstalled in HighLevel"

    app = models.ForeignKey(
        HighLevelApp, on_delete=models.PROTECT, related_name="connections", verbose_name="app"
    )
    kind = models.CharField("kind", max_length=16, choices=Kind.choices, default=Kind.LOCATION)
    auth_type = models.CharField(
        "authorised by", max_length=16, choices=AuthType.choices, default=AuthType.OAUTH
    )
    agency = models.ForeignKey(
        "portal.Agency", on_delete=models.PROTECT, related_name="connections", verbose_name="agency"
    )
    location = models.ForeignKey(
        "portal.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="connections",
        verbose_name="location",
        help_text="Empty for an agency (company) connection.",
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="minted",
        verbose_name="agency connection",
        help_text="For location tokens minted from an agency connection: that connection.",
    )
    status = models.CharField(
        "status", max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    scopes = models.TextField("granted scopes", blank=True, help_text="Space-separated.")
    reconsent_scopes = models.TextField(
        "re-consent needed for",
        blank=True,
        default="",
        db_default="",  # the previous release inserts connections without it
        help_text="Space-separated scopes a location-wide plan needs that were not granted: the "
        "flows fall back to what the granted scopes allow until the location approves them.",
    )
    access_token_encrypted = models.TextField(
        "access token (encrypted)", blank=True, editable=False
    )
    refresh_token_encrypted = models.TextField(
        "refresh token (encrypted)", blank=True, editable=False
    )
    access_token = EncryptedSecret("access_token_encrypted")
    refresh_token = EncryptedSecret("refresh_token_encrypted")
    token_expires_at = models.DateTimeField(
        "token expires", null=True, blank=True, help_text="Empty for private integration tokens."
    )
    token_refreshed_at = models.DateTimeField("token refreshed", null=True, blank=True)
    highlevel_user_id = models.CharField(
        "HighLevel user id", max_length=64, blank=True, help_text="Who approved the install."
    )
    last_error = models.TextField("last error", blank=True)
    last_error_at = models.DateTimeField("last error at", null=True, blank=True)
    last_success_at = models.DateTimeField("last success", null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="connected by",
    )
    created_at = models.DateTimeField("created", auto_now_add=True)
    updated_at = models.DateTimeField("updated", auto_now=True)

    class Meta:
        verbose_name = "connection"
        ordering = ["-created_at"]
        # Least privilege for operations (integrations.catalog.privilege): no role holds these;
        # a superuser grants them to the people who need them.
        permissions = [
            ("send_write_operations", "Can send operations that change HighLevel data"),
            ("send_users_operations", "Can send HighLevel user and role operations"),
            ("send_messaging_operations", "Can send messages, emails and social posts"),
            ("send_payments_operations", "Can send payment, invoice and product operations"),
            ("send_agency_operations", "Can send agency-level writes"),
            ("send_delete_operations", "Can send operations that delete HighLevel data"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["app", "location"],
                condition=Q(location__isnull=False),
                name="integrations_one_connection_per_app_location",
            ),
            models.UniqueConstraint(
                fields=["app", "agency"],
                condition=Q(location__isnull=True),
                name="integrations_one_agency_connection_per_app",
            ),
        ]

    def __str__(self) -> str:
        target = self.location.name if self.location is not None else f"{self.agency.name} (agency)"
        return f"{target} via {self.app.name}"

    @property
    def resource_id(self) -> str:
        """The HighLevel id the rate limit counts against: locationId or companyId."""
        return self.location.location_id if self.location is not None else self.agency.company_id

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())


class LocationMintBatch(models.Model):
    """One "connect these installed locations" request from an agency connection, with progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    agency_connection = models.ForeignKey(
        Connection,
        on_delete=models.CASCADE,
        related_name="mint_batches",
        verbose_name="agency connection",
    )
    requested = models.JSONField(
        "requested locations", default=list, help_text="[{id, name}] of HighLevel locations."
    )
    total = models.PositiveIntegerField("total", default=0)
    done = models.PositiveIntegerField("connected", default=0)
    failed = models.PositiveIntegerField("failed", default=0)
    errors = models.JSONField("errors", default=list, blank=True)
    status = models.CharField(
        "status", max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="requested by",
    )
    created_at = models.DateTimeField("created", auto_now_add=True)
    finished_at = models.DateTimeField("finished", null=True, blank=True)

    class Meta:
        verbose_name = "location connection batch"
        verbose_name_plural = "location connection batches"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Batch {self.pk}: {self.done + self.failed}/{self.total}"
