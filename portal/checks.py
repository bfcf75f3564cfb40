"""System checks that refuse dangerous configurations (run by `manage.py check` and at start).

The key, sandbox and cookie checks apply whenever the portal could face the public: in production
(which DEBUG off implies, see settings) or whenever a non-local host is allowed, whatever
PORTAL_ENV says.
"""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1", "testserver"}
# Mirrors django.core.checks.security.base: Django's own test for a usable SECRET_KEY.
INSECURE_KEY_PREFIX = "django-insecure-"
# The shortest bearer token /metrics accepts on a portal that faces the public.
METRICS_TOKEN_MIN = 32


def _public_hosts():
    return [h for h in settings.ALLOWED_HOSTS if h not in LOCAL_HOSTS]


def _faces_the_public():
    """Production, DEBUG off outside a test run, or any non-local host allowed."""
    if settings.PORTAL_ENV == "production" or _public_hosts():
        return True
    return not settings.DEBUG and settings.PORTAL_ENV != "test"


def _secret_key_is_weak(key):
    return (
        key == settings.DEV_SECRET_KEY
        or key.startswith(INSECURE_KEY_PREFIX)
        or len(key) < 50
        or len(set(key)) < 5
    )


@register(Tags.security, deploy=False)
def check_production_safety(app_configs, **kwargs):
    errors = []
    public = _faces_the_public()
    keys = settings.ENCRYPTION_KEYS
    if public and (not keys or settings.DEV_ENCRYPTION_KEY in keys):
        errors.append(
            Error(
                "ENCRYPTION_KEYS must hold the portal's own Fernet key for secrets at rest "
                "(unset, or the public development key).",
                hint="Set ENCRYPTION_KEYS to one or more Fernet keys (newest first); generate one "
                "with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`.",
                id="portal.E001",
            )
        )
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(
                Error(
                    "ENCRYPTION_KEYS holds a value that is not a Fernet key.",
                    hint="Each key is 32 url-safe base64-encoded bytes (44 characters).",
                    id="portal.E004",
                )
            )
            break
    public_hosts = _public_hosts()
    if settings.DEBUG and public_hosts:
        errors.append(
            Error(
                "DEBUG is on while the portal answers on a public host "
                f"({', '.join(public_hosts)}): tracebacks would show settings and data.",
                hint="Set DEBUG=false, or keep ALLOWED_HOSTS to localhost.",
                id="portal.E002",
            )
        )
    if public and _secret_key_is_weak(settings.SECRET_KEY):
        errors.append(
            Error(
                "SECRET_KEY must be the portal's own key: 50 or more random characters, not the "
                "development key.",
                hint="Generate one with `python -c 'import secrets; print(secrets.token_urlsafe(64))'`.",
                id="portal.E003",
            )
        )
    if settings.PORTAL_ENV == "production" and settings.DEBUG:
        errors.append(Error("DEBUG must be off in production.", id="portal.E005"))
    if public and settings.SANDBOX_ENABLED and not settings.SANDBOX_IN_PRODUCTION_OK:
        errors.append(
            Error(
                "The HighLevel sandbox is enabled on a portal that faces the public.",
                hint="Unset SANDBOX_ENABLED, or set SANDBOX_IN_PRODUCTION_OK=true if you "
                "really mean to serve the emulator.",
                id="portal.E006",
            )
        )
    if public and not (settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE):
        errors.append(
            Error(
                "Session and CSRF cookies must be Secure (HTTPS only) on a portal that faces the public.",
                hint="Run with DEBUG off (production sets SESSION_COOKIE_SECURE and CSRF_COOKIE_SECURE).",
                id="portal.E007",
            )
        )
    if public and not settings.PORTAL_REQUIRE_MFA:
        errors.append(
            Warning(
                "Two-factor authentication is not required on a portal that faces the public.",
                hint="Unset PORTAL_REQUIRE_MFA (it defaults to true outside DEBUG).",
                id="portal.W010",
            )
        )
    if public and settings.METRICS_ENABLED and len(settings.METRICS_TOKEN) < METRICS_TOKEN_MIN:
        errors.append(
            Error(
                "/metrics is enabled on a portal that faces the public without its own "
                f"METRICS_TOKEN (unset, or shorter than {METRICS_TOKEN_MIN} characters).",
                hint="Set METRICS_TOKEN to a random value (`python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`) and give it to the Prometheus scraper, or "
                "set METRICS_ENABLED=false.",
                id="portal.E009",
            )
        )
    if not settings.DEBUG and "*" in settings.ALLOWED_HOSTS:
        errors.append(
            Error(
                "ALLOWED_HOSTS=* accepts any Host header (password-reset links and absolute URLs "
                "could point anywhere).",
                hint="List the portal's own host names in ALLOWED_HOSTS.",
                id="portal.E008",
            )
        )
    return errors
