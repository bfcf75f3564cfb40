from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse


class SuperuserMFAMiddleware:
    """Outside DEBUG a superuser must enrol TOTP before using the admin.

    allauth's MFA stage then asks every superuser for a code at each sign-in.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.PORTAL_REQUIRE_SUPERUSER_MFA
            and user is not None
            and user.is_authenticated
            and user.is_superuser
            and request.path.startswith(reverse("admin:index"))
            and not user_has_totp(user)
        ):
            messages.warning(request, "Superusers must set up two-factor authentication first.")
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
