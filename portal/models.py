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
    auto_connect_new_locations = models.BooleanField(
        "connect new sub-accounts automatically",
        default=False,
        db_default=False,  # the previous release inserts agencies without it
        help_text="When HighLevel reports a new sub-account of this agency (LocationCreate), "
        "connect it at once through the agency connection; otherwise it is listed, not "
        "connected, for someone to connect.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="member_agencies",
        verbose_name="members",
        help_text="Auditors and support who work for this agency: they see all its locations and "
        "nothing of any other agency.",
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
            # The platform operator's: spans agencies, and only with PLATFORM_OPERATORS_ENABLED.
            ("view_all_locations", "Can see every location of every agency"),
            ("view_agency_locations", "Can see every location of the agencies one is a member of"),
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


class AlertCause(models.TextChoices):
    NEEDS_REAUTH = "needs_reauth", "connection needs re-authorization"
    JOB_DEAD = "job_dead", "job died (retries exhausted)"
    # Raised by the verifier (integrations.sync.verify) past VERIFY_ALERT_* thresholds.
    MISMATCH = "mismatch", "verified mismatch rate above threshold"
    COVERAGE = "coverage", "coverage older than threshold"


class AlertSetting(models.Model):
    """A user's own alert choice: every user may turn alert emails off."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="alert_setting",
        verbose_name="user",
    )
    email_alerts = models.BooleanField(
        "email me alerts",
        default=True,
        help_text="Connections needing re-authorization and dead jobs of my locations.",
    )

    class Meta:
        verbose_name = "alert setting"

    def __str__(self):
        return f"{self.user} alerts {'on' if self.email_alerts else 'off'}"


class AlertSignal(models.Model):
    """Something broke at one location; gathered with others into an :class:`AlertIncident`."""

    at = models.DateTimeField("when", auto_now_add=True, db_index=True)
    cause = models.CharField("cause", max_length=32, choices=AlertCause.choices)
    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="+", verbose_name="agency"
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="+", verbose_name="location"
    )
    detail = models.JSONField("detail", default=dict, blank=True, help_text="e.g. the job id.")
    incident = models.ForeignKey(
        "AlertIncident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="signals",
        verbose_name="sent in incident",
    )
    suppressed = models.BooleanField(
        "suppressed",
        default=False,
        help_text="Not sent: the location was alerted about this cause less than an hour before.",
    )

    class Meta:
        verbose_name = "alert signal"
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["incident", "suppressed", "at"], name="alertsignal_pending")
        ]

    def __str__(self):
        return f"{self.get_cause_display()} at {self.location}"


class AlertIncident(models.Model):
    """One alert message about one cause at one or more locations of an agency."""

    sent_at = models.DateTimeField("sent", db_index=True)
    cause = models.CharField("cause", max_length=32, choices=AlertCause.choices)
    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="+", verbose_name="agency"
    )
    locations = models.ManyToManyField(
        Location, related_name="alert_incidents", verbose_name="locations"
    )
    subject = models.CharField("subject", max_length=255)
    recipients = models.JSONField("emailed to", default=list, blank=True, help_text="Usernames.")
    webhook_status = models.CharField(
        "webhook", max_length=200, blank=True, help_text="The webhook's answer, or why it failed."
    )

    class Meta:
        verbose_name = "alert incident"
        ordering = ["-sent_at"]

    def __str__(self):
        return self.subject


class AgencySingleSignOn(models.Model):
    """An agency's OpenID Connect identity provider: its people sign in there, without a portal
    password. Users are matched by the e-mail address the provider says it verified; only the
    agency's own people (assigned to one of its locations) sign in this way, never superusers."""

    agency = models.OneToOneField(
        Agency, on_delete=models.CASCADE, related_name="single_sign_on", verbose_name="agency"
    )
    slug = models.SlugField(
        "short name",
        max_length=40,
        unique=True,
        help_text="In the sign-in address: /accounts/oidc/<short name>/login/ (and the provider's "
        "redirect URI /accounts/oidc/<short name>/login/callback/).",
    )
    enabled = models.BooleanField("enabled", default=True)
    issuer = models.URLField(
        "issuer",
        max_length=500,
        help_text="The provider's issuer URL; its /.well-known/openid-configuration is read.",
    )
    client_id = models.CharField("client id", max_length=255)
    client_secret_encrypted = models.TextField("client secret (encrypted)", blank=True, default="")
    mfa_by_provider = models.BooleanField(
        "two-factor by the provider",
        default=False,
        help_text="The provider asks for a second factor: the portal does not ask again for "
        "sign-ins through it.",
    )
    password_sign_in = models.BooleanField(
        "password sign-in allowed",
        default=True,
        help_text="Off: the agency's people can only sign in through this provider.",
    )
    active_claim = models.CharField(
        "active claim",
        max_length=100,
        blank=True,
        help_text="A claim the provider must send as true (e.g. 'active'). When it is missing or "
        "false at a sign-in, the portal user is deactivated and the sign-in refused.",
    )
    created_at = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        verbose_name = "agency single sign-on"
        verbose_name_plural = "agency single sign-on"
        ordering = ["agency__name"]

    def __str__(self):
        return f"{self.agency.name} ({self.issuer})"

    @property
    def client_secret(self) -> str:
        from portal.crypto import secret_decrypt

        return secret_decrypt(
            ciphertext=self.client_secret_encrypted, label=f"single sign-on secret of {self.slug}"
        )

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        from portal.crypto import secret_encrypt

        self.client_secret_encrypted = secret_encrypt(plaintext=value)
