from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect

# Set in the session by a single sign-on whose identity provider is trusted to have asked for a
# second factor (the agency's SSO setting "MFA by the provider").
MFA_BY_PROVIDER_SESSION_KEY = "portal_mfa_by_provider"


class MFARequiredMiddleware:
    """With ``PORTAL_REQUIRE_MFA`` on, every signed-in user (staff, auditor, support, superuser)
    must have TOTP before any page of the portal opens: a user without one is sent to TOTP
    enrolment (and then shown their recovery codes). allauth's MFA stage then asks for a code at
    every sign-in. Only the account pages (sign-out, enrolment, recovery codes), static files
    and the sandbox emulator stay reachable before enrolment.
    """

    EXEMPT_PREFIXES = ("/accounts/", "/static/", "/sandbox/", "/favicon.ico")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.PORTAL_REQUIRE_MFA
            and user is not None
            and user.is_authenticated
            and not request.path.startswith(self.EXEMPT_PREFIXES)
            and not request.session.get(MFA_BY_PROVIDER_SESSION_KEY)
            and not user_has_totp(user)
        ):
            messages.warning(request, "Set up two-factor authentication to continue.")
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def user_has_totp(user):
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


TIMEZONE_COOKIE = "portal_tz"


class UserTimezoneMiddleware:
    """Shows times in the user's own time zone: the browser's, sent in the ``portal_tz`` cookie
    (set by ``portal/tz.js``). An unknown or missing zone falls back to ``TIME_ZONE``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from django.utils import timezone

        name = request.COOKIES.get(TIMEZONE_COOKIE, "")[:64]
        try:
            zone = ZoneInfo(name) if name else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class ContentSecurityPolicyMiddleware:
    """Sends settings.CONTENT_SECURITY_POLICY on every response that does not set its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
