import time
from datetime import UTC, datetime

from allauth.account import app_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core.internal.ratelimit import get_ip
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings

from portal.crypto import secret_decrypt, secret_encrypt


class StaffOnlyAccountAdapter(DefaultAccountAdapter):
    """Accounts are created by an administrator, never by self sign-up."""

    def is_open_for_signup(self, request):
        return False

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """Failed sign-ins are counted per account *and* client address (see ACCOUNT_RATE_LIMITS):
        failures from one address never lock the account for another."""
        return f"{super()._get_login_attempts_cache_key(request, **credentials)}@{get_ip(request)}"

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """Enrolling the first two-factor device right after signing in (the portal sends every
        user there) and viewing its recovery codes do not ask for the password again; changing
        a device enrolled before this sign-in does."""
        request = self.request
        if app == "allauth.mfa" and request is not None and request.user.is_authenticated:
            signed_in_at = _signed_in_at(request)
            if (
                signed_in_at is not None
                and time.time() - signed_in_at < app_settings.REAUTHENTICATION_TIMEOUT
                and not Authenticator.objects.filter(
                    user=request.user,
                    created_at__lt=datetime.fromtimestamp(signed_in_at, tz=UTC),
                ).exists()
            ):
                return False
        return super().is_reauthentication_required(app=app, **kwargs)


def _signed_in_at(request) -> float | None:
    records = get_authentication_records(request, request.user)
    return records[0]["at"] if records else None


class PortalMFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and recovery-code seeds are stored encrypted (Fernet, ENCRYPTION_KEYS).

    While ``PORTAL_REQUIRE_MFA`` is on, nobody can switch their TOTP off: it is the second factor
    every sign-in needs. A lost device is handled by a recovery code, or by a superuser deleting
    the authenticator in the admin (the user then enrols again at the next sign-in).
    """

    def encrypt(self, text: str) -> str:
        return secret_encrypt(plaintext=text)

    def decrypt(self, encrypted_text: str) -> str:
        return secret_decrypt(ciphertext=encrypted_text, label="two-factor secret")

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        if settings.PORTAL_REQUIRE_MFA and authenticator.type == Authenticator.Type.TOTP:
            return False
        return super().can_delete_authenticator(authenticator)
