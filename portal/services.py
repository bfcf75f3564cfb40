"""Portal services: demo data."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from portal.errors import PortalError
from portal.models import Agency, Location
from portal.roles import AGENCY_STAFF, AUDITOR, SUPPORT

DEMO_AGENCY = {"name": "Demo Agency", "company_id": "demo-company-0001"}
DEMO_LOCATIONS = [
    {"location_id": "demo-loc-0001", "name": "Northside Dental", "time_zone": "America/New_York"},
    {"location_id": "demo-loc-0002", "name": "Harbour Plumbing", "time_zone": "Europe/London"},
    {"location_id": "demo-loc-0003", "name": "Sunset Yoga", "time_zone": "Australia/Sydney"},
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    sees: str


# Documented in README.md. Only ever created on an empty development database.
DEMO_LOGINS = [
    DemoLogin("admin", "demo-admin-pass", "Superuser", "everything"),
    DemoLogin("staff", "demo-staff-pass", AGENCY_STAFF, "Northside Dental and Harbour Plumbing"),
    DemoLogin("auditor", "demo-auditor-pass", AUDITOR, "the demo agency, read-only"),
    DemoLogin("support", "demo-support-pass", SUPPORT, "the demo agency's jobs and logs; re-runs"),
]


class DemoSeedRefused(PortalError):
    pass


@transaction.atomic
def demo_seed_create():
    """Create the demo agency, locations and one user per role. Returns the logins created.

    Refuses in production and does nothing when any user already exists.
    """
    if settings.PORTAL_ENV == "production" or not settings.DEMO_ALLOWED:
        raise DemoSeedRefused("Demo users are never created in production: they need DEBUG on.")
    User = get_user_model()
    if User.objects.exists():
        return []
    agency = Agency.objects.create(**DEMO_AGENCY)
    locations = [Location.objects.create(agency=agency, **loc) for loc in DEMO_LOCATIONS]
    for login in DEMO_LOGINS:
        if login.role == "Superuser":
            User.objects.create_superuser(
                login.username, f"{login.username}@demo.test", login.password
            )
            continue
        user = User.objects.create_user(
            login.username, f"{login.username}@demo.test", login.password, is_staff=True
        )
        user.groups.add(Group.objects.get(name=login.role))
        if login.role == AGENCY_STAFF:
            for location in locations[:2]:
                location.staff.add(user)
        else:  # auditors and support belong to the agency they work for
            agency.members.add(user)
    return DEMO_LOGINS
