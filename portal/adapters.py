import time
from datetime import UTC, datetime

from allauth.account import app_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.internal.ratelimit import get_ip
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.stages import AuthenticateStage
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse

from portal.crypto import secret_decrypt, secret_encrypt
from portal.models import AgencySingleSignOn
from portal.sso import (
    SingleSignOnRefused,
    sso_config_get,
    sso_mfa_by_provider,
    sso_password_sign_in_allowed,
    sso_user_resolve,
)

OPENID_CONNECT = "openid_connect"


class StaffOnlyAccountAdapter(DefaultAccountAdapter):
    """Accounts are created by an administrator, never by self sign-up."""

    def is_open_for_signup(self, request):
        return False

    def pre_login(self, request, user, **kwargs):
        """Password sign-in is refused for the people of an agency that turned it off (they sign
        in through its identity provider)."""
        signal_kwargs = kwargs.get("signal_kwargs") or {}
        if "sociallogin" not in signal_kwargs and not sso_password_sign_in_allowed(user=user):
            self.add_message(
                request,
                messages.ERROR,
                message="Your agency signs in through its identity provider: use the button "
                "below, not a password.",
            )
            return HttpResponseRedirect(reverse("account_login"))
        return super().pre_login(request, user, **kwargs)

    def get_login_stages(self) -> list[str]:
        return [
            "portal.adapters.ProviderAwareMFAStage"
            if stage == "allauth.mfa.stages.AuthenticateStage"
            else stage
            for stage in super().get_login_stages()
        ]

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


class ProviderAwareMFAStage(AuthenticateStage):
    """allauth's "give your code" stage, skipped for a single sign-on through a provider the
    agency trusts to ask for the second factor itself."""

    def _should_handle(self, request) -> bool:
        sociallogin = (self.login.signal_kwargs or {}).get("sociallogin")
        if sociallogin is not None and sso_mfa_by_provider(slug=sociallogin.account.provider):
            return False
        return super()._should_handle(request)


def session_mfa_by_provider(request) -> bool:
    """Whether this session signed in through a provider trusted for the second factor."""
    for record in get_authentication_records(request, request.user):
        if record.get("method") == "socialaccount" and sso_mfa_by_provider(
            slug=record.get("provider", "")
        ):
            return True
    return False


class PortalSocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on through each agency's OpenID Connect provider (portal.sso).

    The providers are the agencies' ``AgencySingleSignOn`` rows (client secret encrypted at rest),
    never allauth's own SocialApp table. Nobody signs up this way: a sign-in is an existing
    portal account, matched by the provider's verified e-mail address.
    """

    def list_apps(self, request, provider=None, client_id=None):
        rows = AgencySingleSignOn.objects.select_related("agency").filter(enabled=True)
        if provider and provider != OPENID_CONNECT:
            rows = rows.filter(slug=provider)
        if client_id:
            rows = rows.filter(client_id=client_id)
        return [
            SocialApp(
                provider=OPENID_CONNECT,
                provider_id=row.slug,
                name=row.agency.name,
                client_id=row.client_id,
                secret=row.client_secret,
                settings={"server_url": row.issuer, "token_auth_method": "client_secret_post"},
            )
            for row in rows
        ]

    def is_open_for_signup(self, request, sociallogin):
        return False

    def pre_social_login(self, request, sociallogin):
        config = sso_config_get(slug=sociallogin.account.provider)
        data = sociallogin.account.extra_data or {}
        claims = {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}
        try:
            if config is None:
                raise SingleSignOnRefused("This identity provider is not enabled.")
            user = sso_user_resolve(
                config=config,
                claims=claims,
                linked_user=sociallogin.user if sociallogin.is_existing else None,
            )
        except SingleSignOnRefused as exc:
            get_account_adapter(request).add_message(request, messages.ERROR, message=str(exc))
            raise ImmediateHttpResponse(HttpResponseRedirect(reverse("account_login"))) from None
        if not sociallogin.is_existing:  # first sign-in of this subject: link it to the user
            sociallogin.user = user
            sociallogin.save(request, connect=True)
