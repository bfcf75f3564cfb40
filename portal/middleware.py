from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect

from portal.logs import log_context


class MFARequiredMiddleware:
    """With ``PORTAL_REQUIRE_MFA`` on, every signed-in user (staff, auditor, support, superuser)
    must have TOTP before any page of the portal opens: a user without one is sent to TOTP
    enrolment (and then shown their recovery codes). allauth's MFA stage then asks for a code at
    every sign-in. A single sign-on through a provider the agency trusts for the second factor
    needs no TOTP of the portal's. Only the account pages (sign-out, enrolment, recovery codes), static files
    and the sandbox emulator stay reachable before enrolment.
    """

    EXEMPT_PREFIXES = ("/accounts/", "/static/", "/sandbox/", "/favicon.ico")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from portal.adapters import session_mfa_by_provider

        user = getattr(request, "user", None)
        if (
            settings.PORTAL_REQUIRE_MFA
            and user is not None
            and user.is_authenticated
            and not request.path.startswith(self.EXEMPT_PREFIXES)
            and not user_has_totp(user)
            and not session_mfa_by_provider(request)
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


class HeadWithoutBodyMiddleware:
    """A HEAD answer carries the GET's headers (its Content-Length too) and no body (RFC 9110
    9.3.2). Django leaves dropping the body to the server, and gunicorn sends whatever body the
    view made: on a kept-alive connection the client, which reads no body after a HEAD, then
    reads that body as the start of its next answer (the fault matrix's fuzzing found it). First
    in MIDDLEWARE, so it sees every answer, static files' included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method == "HEAD":
            if response.streaming:
                close = getattr(response, "close", None)
                response.streaming_content = []
                if close:
                    close()
            else:
                response.content = b""
        return response


class ContentSecurityPolicyMiddleware:
    """Sends settings.CONTENT_SECURITY_POLICY on every response that does not set its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            if request.path.startswith("/accounts/"):
                policy = _with_sso_form_actions(policy)
            response["Content-Security-Policy"] = policy
        return response


def _with_sso_form_actions(policy: str) -> str:
    """The sign-in pages' "Sign in with <agency>" forms post to the portal, which redirects to the
    agency's identity provider: browsers check that redirect against form-action too, so the
    enabled providers' origins are added to it there (and only there)."""
    from urllib.parse import urlsplit

    from portal.models import AgencySingleSignOn

    origins = sorted(
        {
            f"{parts.scheme}://{parts.netloc}"
            for parts in map(
                urlsplit,
                AgencySingleSignOn.objects.filter(enabled=True).values_list("issuer", flat=True),
            )
            if parts.scheme in ("http", "https") and parts.netloc
        }
    )
    if not origins:
        return policy
    directives = [d.strip() for d in policy.split(";")]
    for i, directive in enumerate(directives):
        if directive.split(" ", 1)[0] == "form-action":
            directives[i] = " ".join([directive, *origins])
    return "; ".join(d for d in directives if d)


class LogContextMiddleware:
    """Each request's log lines carry their own context (the HighLevel trace id its calls got),
    never a previous request's on the same thread (portal.logs)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with log_context():
            return self.get_response(request)
