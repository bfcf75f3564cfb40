from django.conf import settings
from django.db import models


class Agency(models.Model):
    """A marketing agency: a HighLevel company (agency account) with its client locations."""

    name = models.CharField("name", max_length=200)
    company_id = models.CharField(
        "HighLevel company id",
        max_length=64,
        unique=True,
        help_text="The agency's companyId in HighLevel.",
    )
    created_at = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        verbose_name = "agency"
        verbose_name_plural = "agencies"
        ordering = ["name"]

    def __str__(self):
        return self.name


class Location(models.Model):
    """A client location (HighLevel sub-account) managed by an agency."""

    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="locations", verbose_name="agency"
    )
    location_id = models.CharField(
        "HighLevel location id",
        max_length=64,
        unique=True,
        help_text="The locationId HighLevel uses for this sub-account.",
    )
    name = models.CharField("name", max_length=200)
    time_zone = models.CharField(
        "time zone", max_length=64, default="UTC", help_text="IANA name, e.g. America/New_York."
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="assigned_locations",
        verbose_name="assigned staff",
        help_text="Agency staff who may see and work with this location.",
    )
    created_at = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        verbose_name = "location"
        ordering = ["name"]
        permissions = [
            ("view_all_locations", "Can see every location, not only assigned ones"),
        ]

    def __str__(self):
        return f"{self.name} ({self.location_id})"


class AuditEvent(models.Model):
    """Who did what: connected, disconnected, changed a mapping, re-ran a job, exported logs.

    Append-only: the admin never edits or deletes these rows.
    """

    at = models.DateTimeField("when", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="who",
    )
    action = models.CharField("action", max_length=64, db_index=True)
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target = models.CharField("target", max_length=255, blank=True)
    detail = models.JSONField("detail", default=dict, blank=True)

    class Meta:
        verbose_name = "audit event"
        ordering = ["-at"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target}"
