"""App and location lifecycle events, as docs/webhook events/AppInstall.md, AppUninstall.md,
PlanChange.md, LocationCreate.md describe them.

- ``INSTALL``: location level (one per location the user picked) with ``locationId``,
  ``companyId``, ``userId``, ``planId``, ``trial``, ``isWhitelabelCompany``,
  ``whitelabelDetails``, ``companyName``; agency level (the agency picked): *one* event with
  ``companyId``, ``planId``, ``trial`` and no ``locationId``.
- ``UNINSTALL``: ``appId`` plus ``locationId`` (location level) or ``companyId`` (agency level).
- ``PLAN_CHANGE``: ``appId``, ``locationId``, ``companyId``, ``userId``, ``currentPlanId``,
  ``newPlanId``.
Each goes only to the app it is about.
"""

from django.db import transaction
from django.utils import timezone

from sandbox.access.models import Installation, SandboxCompany, SandboxLocation, Token
from sandbox.access.services.webhooks import webhook_emit

DEFAULT_PLAN_ID = "sandbox-plan-standard"
PRO_PLAN_ID = "sandbox-plan-pro"  # the admin's plan switch goes between these two
TRIAL_DAYS = 0


class LifecycleRefused(Exception):
    """A lifecycle request that cannot be applied (unknown app, company, location or install)."""


def marketplace_app_id(app) -> str:
    """``appId`` in lifecycle events: the part of the client id before the first dash, as in
    HighLevel's client ids (``<appId>-<suffix>``; the official SDK compares it that way)."""
    return app.client_id.split("-", 1)[0]


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _trial(install: Installation) -> dict:
    return {
        "onTrial": TRIAL_DAYS > 0,
        "trialDuration": TRIAL_DAYS,
        "trialStartDate": _iso(install.installed_at or timezone.now()),
    }


def install_emit(*, install: Installation) -> None:
    """The INSTALL event of a fresh installation (location or agency level)."""
    company = install.company
    payload = {
        "appId": marketplace_app_id(install.app),
        "companyId": company.company_id,
        "planId": install.plan_id,
        "trial": _trial(install),
    }
    if install.location is None:
        webhook_emit(
            company_id=company.company_id,
            event_type="INSTALL",
            payload=payload,
            app_ids=[install.app_id],
        )
        return
    payload.update(
        userId=install.user_id,
        isWhitelabelCompany=False,
        whitelabelDetails={},
        companyName=company.name,
    )
    webhook_emit(
        location_id=install.location.location_id,
        company_id=company.company_id,
        event_type="INSTALL",
        payload=payload,
        app_ids=[install.app_id],
    )


def _install_find(*, client_id: str, company_id: str = "", location_id: str = "") -> Installation:
    installs = Installation.objects.select_related("app", "company", "location").filter(
        app__client_id=client_id
    )
    if location_id:
        install = installs.filter(location__location_id=location_id).first()
    else:
        install = installs.filter(company__company_id=company_id, location=None).first()
    if install is None:
        where = f"location {location_id}" if location_id else f"company {company_id}"
        raise LifecycleRefused(f"App {client_id!r} is not installed on {where}.")
    return install


@transaction.atomic
def app_uninstall(*, client_id: str, company_id: str = "", location_id: str = "") -> int:
    """Uninstall an app from a location (or the agency, and with it every location) and send
    UNINSTALL; the app's tokens there are revoked. Returns the number of installations removed."""
    install = _install_find(client_id=client_id, company_id=company_id, location_id=location_id)
    app, company = install.app, install.company
    now = timezone.now()
    if install.location is not None:  # the event first: it goes to the installed app
        webhook_emit(
            location_id=location_id,
            company_id=company.company_id,
            event_type="UNINSTALL",
            payload={"appId": marketplace_app_id(app)},
            app_ids=[app.pk],
        )
        removed = Installation.objects.filter(pk=install.pk).delete()[0]
        Token.objects.filter(app=app, location=install.location, revoked_at=None).update(
            revoked_at=now
        )
        return removed
    webhook_emit(
        company_id=company.company_id,
        event_type="UNINSTALL",
        payload={"appId": marketplace_app_id(app), "companyId": company.company_id},
        app_ids=[app.pk],
    )
    removed = Installation.objects.filter(app=app, company=company).delete()[0]
    Token.objects.filter(app=app, company=company, revoked_at=None).update(revoked_at=now)
    return removed


@transaction.atomic
def app_plan_change(
    *, client_id: str, plan_id: str, company_id: str = "", location_id: str = ""
) -> Installation:
    install = _install_find(client_id=client_id, company_id=company_id, location_id=location_id)
    current = install.plan_id
    install.plan_id = plan_id
    install.save(update_fields=["plan_id"])
    payload = {
        "appId": marketplace_app_id(install.app),
        "companyId": install.company.company_id,
        "userId": install.user_id,
        "currentPlanId": current,
        "newPlanId": plan_id,
    }
    if install.location is not None:
        webhook_emit(
            location_id=install.location.location_id,
            company_id=install.company.company_id,
            event_type="PLAN_CHANGE",
            payload=payload,
            app_ids=[install.app_id],
        )
    else:
        webhook_emit(
            company_id=install.company.company_id,
            event_type="PLAN_CHANGE",
            payload=payload,
            app_ids=[install.app_id],
        )
    return install


@transaction.atomic
def location_create(
    *, company_id: str, name: str, location_id: str = "", address: str = "", email: str = ""
) -> SandboxLocation:
    """A new sub-account of ``company_id`` and its LocationCreate event (LocationCreate.md).

    Apps installed on the agency get the event (and the new location, as HighLevel installs an
    agency-level app on future locations too).
    """
    from sandbox.access.services.secrets import secret_new

    company = SandboxCompany.objects.filter(company_id=company_id).first()
    if company is None:
        raise LifecycleRefused(f"No company {company_id!r} in the sandbox.")
    location_id = (
        location_id or secret_new(prefix="loc", nbytes=9).replace("-", "").replace("_", "")[:20]
    )
    if SandboxLocation.objects.filter(location_id=location_id).exists():
        raise LifecycleRefused(f"Location {location_id!r} already exists.")
    location = SandboxLocation.objects.create(
        company=company, location_id=location_id, name=name, address=address
    )
    for agency_install in Installation.objects.filter(company=company, location=None):
        Installation.objects.get_or_create(
            app_id=agency_install.app_id,
            company=company,
            location=location,
            defaults={"user_id": agency_install.user_id, "plan_id": agency_install.plan_id},
        )
    webhook_emit(
        company_id=company_id,
        event_type="LocationCreate",
        payload={"id": location_id, "companyId": company_id, "name": name, "email": email},
    )
    return location
