"""Marketplace apps, the companies and locations they install on, and the tokens they hold.

Secrets (client secrets, codes, tokens) are stored as SHA-256 hashes only: the sandbox can
check them but never show them again. A short ``hint`` (last characters) helps tell rows apart.
"""

from django.db import models

USER_TYPE_COMPANY = "Company"
USER_TYPE_LOCATION = "Location"
USER_TYPES = [
    (USER_TYPE_COMPANY, "Company (agency)"),
    (USER_TYPE_LOCATION, "Location (sub-account)"),
]


class MarketplaceApp(models.Model):
    """An app registered on the sandbox's marketplace (HighLevel's "My Apps")."""

    name = models.CharField("name", max_length=200)
    client_id = models.CharField(
        "client id", max_length=100, unique=True, help_text="Public; sent as `client_id`."
    )
    client_secret_hash = models.CharField(
        "client secret (hash)",
        max_length=64,
        editable=False,
        help_text="SHA-256 of the client secret; the secret itself is shown once at registration.",
    )
    redirect_uris = models.JSONField(
        "redirect URIs",
        default=list,
        blank=True,
        help_text="Exact URIs the consent page may redirect to.",
    )
    webhook_url = models.URLField(
        "webhook URL", blank=True, help_text="Where the sandbox POSTs signed events; blank = none."
    )
    scopes = models.TextField(
        "scopes", blank=True, help_text="Space-separated scopes the app may ask for."
    )
    created_at = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        verbose_name = "marketplace app"
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.client_id})"

    @property
    def scope_set(self):
        return set(self.scopes.split())


class SandboxCompany(models.Model):
    """An agency account as the sandbox knows it (HighLevel `companyId`)."""

    company_id = models.CharField("company id", max_length=64, unique=True)
    name = models.CharField("name", max_length=200)

    class Meta:
        verbose_name = "sandbox company"
        verbose_name_plural = "sandbox companies"
        ordering = ["company_id"]

    def __str__(self):
        return f"{self.name} ({self.company_id})"


class SandboxLocation(models.Model):
    """A sub-account of a sandbox company (HighLevel `locationId`)."""

    company = models.ForeignKey(
        SandboxCompany, on_delete=models.CASCADE, related_name="locations", verbose_name="company"
    )
    location_id = models.CharField("location id", max_length=64, unique=True)
    name = models.CharField("name", max_length=200)
    address = models.CharField("address", max_length=255, blank=True)

    class Meta:
        verbose_name = "sandbox location"
        ordering = ["location_id"]

    def __str__(self):
        return f"{self.name} ({self.location_id})"


class Installation(models.Model):
    """An app installed on a location (``location`` set) or on the agency itself (blank)."""

    app = models.ForeignKey(
        MarketplaceApp, on_delete=models.CASCADE, related_name="installations", verbose_name="app"
    )
    company = models.ForeignKey(
        SandboxCompany, on_delete=models.CASCADE, related_name="+", verbose_name="company"
    )
    location = models.ForeignKey(
        SandboxLocation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="installations",
        verbose_name="location",
        help_text="Blank for an installation on the agency itself.",
    )
    user_id = models.CharField("installed by (user id)", max_length=64, blank=True)
    plan_id = models.CharField(
        "plan id",
        max_length=64,
        blank=True,
        default="",
        help_text="The app plan chosen at install (sent as planId; PLAN_CHANGE changes it).",
    )
    installed_at = models.DateTimeField("installed", auto_now_add=True)

    class Meta:
        verbose_name = "installation"
        constraints = [
            models.UniqueConstraint(
                fields=["app", "company", "location"], name="sandbox_access_install_once"
            ),
        ]

    def __str__(self):
        return f"{self.app.name} on {self.location or self.company}"


class AuthorizationCode(models.Model):
    """A code the consent page issued; exchanged once at `/oauth/token` within ten minutes."""

    code_hash = models.CharField("code (hash)", max_length=64, unique=True, editable=False)
    app = models.ForeignKey(
        MarketplaceApp, on_delete=models.CASCADE, related_name="+", verbose_name="app"
    )
    company = models.ForeignKey(
        SandboxCompany, on_delete=models.CASCADE, related_name="+", verbose_name="company"
    )
    location_ids = models.JSONField(
        "approved locations", default=list, help_text="Location ids picked on the consent page."
    )
    agency_chosen = models.BooleanField("agency chosen", default=False)
    redirect_uri = models.CharField("redirect URI", max_length=500)
    scopes = models.TextField("scopes", blank=True)
    code_challenge = models.CharField("PKCE challenge", max_length=128, blank=True)
    user_id = models.CharField("approved by (user id)", max_length=64, blank=True)
    expires_at = models.DateTimeField("expires")
    used_at = models.DateTimeField("used", null=True, blank=True)

    class Meta:
        verbose_name = "authorization code"

    def __str__(self) -> str:
        return f"authorization code #{self.pk}"


class Token(models.Model):
    """An access, refresh or private integration token (hash only)."""

    ACCESS = "access"
    REFRESH = "refresh"
    PRIVATE = "private"
    KINDS = [(ACCESS, "access"), (REFRESH, "refresh"), (PRIVATE, "private integration")]

    kind = models.CharField("kind", max_length=10, choices=KINDS)
    token_hash = models.CharField("token (hash)", max_length=64, unique=True, editable=False)
    hint = models.CharField(
        "hint", max_length=12, help_text="Last characters, to tell tokens apart."
    )
    app = models.ForeignKey(
        MarketplaceApp,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tokens",
        verbose_name="app",
        help_text="Blank for private integration tokens.",
    )
    user_type = models.CharField("user type", max_length=10, choices=USER_TYPES)
    company = models.ForeignKey(
        SandboxCompany, on_delete=models.CASCADE, related_name="+", verbose_name="company"
    )
    location = models.ForeignKey(
        SandboxLocation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="location",
        help_text="Blank for agency (Company) tokens.",
    )
    scopes = models.TextField("scopes", blank=True, help_text="Space-separated.")
    user_id = models.CharField("user id", max_length=64, blank=True)
    approved_location_ids = models.JSONField("approved locations", default=list, blank=True)
    created_at = models.DateTimeField("created", auto_now_add=True)
    expires_at = models.DateTimeField("expires", null=True, blank=True, help_text="Blank = never.")
    used_at = models.DateTimeField(
        "used", null=True, blank=True, help_text="Refresh tokens: when it was spent (single use)."
    )
    revoked_at = models.DateTimeField("revoked", null=True, blank=True)

    class Meta:
        verbose_name = "token"
        indexes = [models.Index(fields=["kind", "location"], name="sandbox_acc_token_loc")]

    def __str__(self):
        return f"{self.kind} …{self.hint} ({self.location or self.company})"

    @property
    def scope_set(self):
        return set(self.scopes.split())
