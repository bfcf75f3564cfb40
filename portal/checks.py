"""System checks that refuse dangerous configurations (run by `manage.py check` and at start)."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, register

LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1", "testserver"}


@register(Tags.security, deploy=False)
def check_production_safety(app_configs, **kwargs):
    errors = []
    production = settings.PORTAL_ENV == "production"
    keys = settings.ENCRYPTION_KEYS
    if production and (not keys or settings.DEV_ENCRYPTION_KEY in keys):
        errors.append(
            Error(
                "Production needs its own encryption key for secrets at rest.",
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
    public_hosts = [h for h in settings.ALLOWED_HOSTS if h not in LOCAL_HOSTS]
    if settings.DEBUG and public_hosts:
        errors.append(
            Error(
                "DEBUG is on while the portal answers on a public host "
                f"({', '.join(public_hosts)}): tracebacks would show settings and data.",
                hint="Set DEBUG=false, or keep ALLOWED_HOSTS to localhost.",
                id="portal.E002",
            )
        )
    if production and (
        settings.SECRET_KEY == settings.DEV_SECRET_KEY or len(settings.SECRET_KEY) < 50
    ):
        errors.append(
            Error(
                "Production needs a real SECRET_KEY (50 or more random characters).",
                id="portal.E003",
            )
        )
    if production and settings.DEBUG:
        errors.append(Error("DEBUG must be off in production.", id="portal.E005"))
    if production and settings.SANDBOX_ENABLED and not settings.SANDBOX_IN_PRODUCTION_OK:
        errors.append(
            Error(
                "The HighLevel sandbox is enabled in production.",
                hint="Unset SANDBOX_ENABLED, or set SANDBOX_IN_PRODUCTION_OK=true if you "
                "really mean to serve the emulator.",
                id="portal.E006",
            )
        )
    return errors
