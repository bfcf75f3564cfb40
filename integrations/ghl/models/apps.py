from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from portal.crypto import EncryptedSecret

# HighLevel's own paths, the same under live and sandbox hosts (docs/oauth/Authorization.md;
# oauth.json's POST /oauth/token on the services host).
CONSENT_PATH = "/v2/oauth/chooselocation"
TOKEN_PATH = "/oauth/token"  # noqa: S105 (a URL path)
# Where the sandbox serves each host role under SANDBOX_BASE_URL.
SANDBOX_ROLE_PATHS = {
    "api": "/services",
    "standard": "/marketplace",
    "white_label": "/marketplace-whitelabel",
}


def highlevel_hosts(*, mode: str) -> dict[str, str]:
    """The three host roles for ``mode``: ``api``, ``standard`` and ``white_label`` consent hosts.

    Live and sandbox differ only here: every URL is a role's host plus HighLevel's own path.
    """
    if mode == "live":
        hosts = {
            "api": settings.GHL_API_HOST,
            "standard": settings.GHL_MARKETPLACE_HOST,
            "white_label": settings.GHL_WHITELABEL_MARKETPLACE_HOST,
        }
    else:
        base = settings.SANDBOX_BASE_URL.rstrip("/")
        hosts = {role: base + suffix for role, suffix in SANDBOX_ROLE_PATHS.items()}
    return {role: host.rstrip("/") for role, host in hosts.items()}


class HighLevelApp(models.Model):
    """A HighLevel Marketplace app (OAuth client) the portal connects through."""

    class Mode(models.TextChoices):
        LIVE = "live", "Live HighLevel"
        SANDBOX = "sandbox", "Sandbox (emulator)"

    class MarketplaceHost(models.TextChoices):
        STANDARD = "standard", "Standard (marketplace.gohighlevel.com)"
        WHITE_LABEL = "white_label", "White-label (marketplace.leadconnectorhq.com)"

    name = models.CharField("name", max_length=200)
    mode = models.CharField(
        "mode",
        max_length=16,
        choices=Mode.choices,
        default=Mode.SANDBOX,
        help_text="Live talks to services.leadconnectorhq.com; sandbox to the portal's emulator "
        "at SANDBOX_BASE_URL.",
    )
    marketplace_host = models.CharField(
        "marketplace host",
        max_length=16,
        choices=MarketplaceHost.choices,
        default=MarketplaceHost.STANDARD,
        help_text="Where the live consent page is served; white-label agencies use leadconnectorhq.",
    )
    client_id = models.CharField(
        "client id", max_length=200, blank=True, help_text="From the app's Auth settings."
    )
    client_secret_encrypted = models.TextField(
        "client secret (encrypted)", blank=True, editable=False
    )
    client_secret = EncryptedSecret("client_secret_encrypted")
    app_id = models.CharField(
        "app id",
        max_length=100,
        blank=True,
        help_text="The Marketplace app id (needed to list installed locations). Empty: the part "
        "of the client id before the first dash.",
    )
    redirect_url = models.URLField(
        "redirect URL",
        max_length=500,
        help_text="Exactly as registered with the app, e.g. "
        "https://portal.example.com/integrations/oauth/callback/",
    )
    scopes = models.TextField(
        "scopes requested",
        blank=True,
        help_text="Space-separated scopes asked for on the consent page.",
    )
    offered_to = models.ManyToManyField(
        "portal.Agency",
        blank=True,
        related_name="offered_apps",
        verbose_name="offered to",
        help_text="The agencies whose staff may connect with this app (an agency's own app). "
        "Empty: every agency (the portal's shared app).",
    )
    created_at = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        verbose_name = "HighLevel app"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_mode_display()})"

    def clean(self) -> None:
        if self.mode == self.Mode.LIVE and not (self.client_id and self.client_secret_encrypted):
            raise ValidationError("A live app needs its client id and client secret.")

    # --- URLs (one code path: a host role plus HighLevel's path) ---------------------------
    @property
    def hosts(self) -> dict[str, str]:
        return highlevel_hosts(mode=self.mode)

    @property
    def api_base_url(self) -> str:
        return self.hosts["api"]

    @property
    def token_url(self) -> str:
        return self.hosts["api"] + TOKEN_PATH

    @property
    def consent_url(self) -> str:
        return self.hosts[self.marketplace_host] + CONSENT_PATH

    @property
    def marketplace_app_id(self) -> str:
        return self.app_id or self.client_id.split("-", 1)[0]

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())
