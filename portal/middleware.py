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
