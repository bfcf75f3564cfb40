"""Single sign-on through an agency's OpenID Connect provider: which portal user a sign-in is,
whether the provider still lets them in, and what an agency's setting allows.

allauth's socialaccount runs the protocol (discovery, authorize, token, id token, userinfo);
``portal.adapters`` calls these functions at its hooks.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from portal.errors import PortalError
from portal.models import AgencySingleSignOn, AuditEvent, Location


class SingleSignOnRefused(PortalError):
    """The identity provider's answer does not let this person into the portal."""

    permanent = True


def sso_config_get(*, slug: str) -> AgencySingleSignOn | None:
    return (
        AgencySingleSignOn.objects.select_related("agency").filter(slug=slug, enabled=True).first()
    )


def user_agency_ids(user: Any) -> set[int]:
    """The agencies a person belongs to, for single sign-on: those of the locations they are
    assigned to. Superusers belong to none (they never sign in through an agency's provider)."""
    if user.is_superuser:
        return set()
    return set(Location.objects.filter(staff=user).values_list("agency_id", flat=True))


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def sso_user_resolve(
    *, config: AgencySingleSignOn, claims: dict[str, Any], linked_user: Any | None
) -> Any:
    """The portal user this sign-in is, or :class:`SingleSignOnRefused`.

    ``linked_user`` is the user the provider's subject signed in as before (allauth's social
    account), else the one active staff account holding the verified e-mail address. With the
    agency's ``active_claim`` set, a sign-in whose claim is missing or not true deactivates that
    user (an audit event records it) and is refused.
    """
    user = linked_user
    if user is None:
        email = str(claims.get("email") or "").strip()
        if not email or not _truthy(claims.get("email_verified")):
            raise SingleSignOnRefused(
                "The identity provider did not send a verified e-mail address for this account."
            )
        matches = list(
            get_user_model().objects.filter(email__iexact=email, is_staff=True, is_superuser=False)
        )
        if len(matches) != 1:
            raise SingleSignOnRefused(
                f"No single portal account has the e-mail address {email}: ask your portal "
                "administrator to create it."
            )
        user = matches[0]
    if config.agency_id not in user_agency_ids(user):
        raise SingleSignOnRefused(
            f"This account does not belong to {config.agency.name}, so it cannot sign in "
            "through its identity provider."
        )
    if not user.is_active:
        raise SingleSignOnRefused("This portal account is deactivated.")
    if config.active_claim and not _truthy(claims.get(config.active_claim)):
        with transaction.atomic():
            type(user).objects.filter(pk=user.pk).update(is_active=False)
            AuditEvent.objects.create(
                actor=None,
                action="sso_deactivated",
                target=f"user {user.get_username()}: {config.agency.name}'s identity provider "
                f"sent {config.active_claim}={claims.get(config.active_claim)!r}",
            )
        raise SingleSignOnRefused(
            "Your identity provider says this account is no longer active: it is deactivated in "
            "the portal too."
        )
    return user


def sso_password_sign_in_allowed(*, user: Any) -> bool:
    """False when an agency the user belongs to has turned password sign-in off."""
    agencies = user_agency_ids(user)
    return not AgencySingleSignOn.objects.filter(
        agency_id__in=agencies, enabled=True, password_sign_in=False
    ).exists()


def sso_mfa_by_provider(*, slug: str) -> bool:
    return AgencySingleSignOn.objects.filter(slug=slug, enabled=True, mfa_by_provider=True).exists()
