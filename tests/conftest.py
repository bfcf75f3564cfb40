"""Fixtures shared by every app's tests: one user per role, locations with assignments."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from portal.models import Agency, Location
from portal.roles import AGENCY_STAFF, AUDITOR, SUPPORT

PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def agency(db):
    return Agency.objects.create(name="Acme Agency", company_id="comp-1")


@pytest.fixture
def location(agency):
    """One location of ``agency`` (HighLevel id ``loc-1``), assigned to nobody."""
    return Location.objects.create(agency=agency, location_id="loc-1", name="Northside Dental")


@pytest.fixture
def other_location(agency):
    """A second location of the same agency (``loc-2``)."""
    return Location.objects.create(agency=agency, location_id="loc-2", name="Harbour Plumbing")


@pytest.fixture
def locations(agency):
    """Locations A, B and C; the `staff` user is assigned to A and B only."""
    return {
        key: Location.objects.create(
            agency=agency, location_id=f"loc-{key}", name=f"Location {key}"
        )
        for key in "ABC"
    }


def _make_user(username, *, group=None, superuser=False):
    User = get_user_model()
    if superuser:
        return User.objects.create_superuser(username, f"{username}@example.test", PASSWORD)
    user = User.objects.create_user(username, f"{username}@example.test", PASSWORD, is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def enrol_totp(user):
    """Give ``user`` a TOTP device (and recovery codes) as enrolment would; returns the secret.
    ``totp_code(secret)`` is then the code an authenticator app would show."""
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def totp_code(secret):
    """The code an authenticator shows now, taken with at least 5 s of its 30 s left: the portal
    allows no clock tolerance, so a code read at the period's edge is refused on arrival."""
    import time

    import pyotp

    totp = pyotp.TOTP(secret)
    left = totp.interval - time.time() % totp.interval
    if left < 5:
        time.sleep(left + 0.1)
    return totp.now()


def _roles_present():
    """Transactional tests flush the database, data-migration rows included: put the groups back."""
    from django.contrib.auth.models import Permission

    from portal.roles import ROLE_PERMISSIONS

    for role, perms in ROLE_PERMISSIONS.items():
        group, created = Group.objects.get_or_create(name=role)
        if created:
            for perm in perms:
                app_label, codename = perm.split(".", 1)
                group.permissions.add(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                )


@pytest.fixture
def role_users(locations):
    """One user per role, keyed by role slug; staff is assigned to locations A and B."""
    _roles_present()
    users = {
        "superuser": _make_user("root", superuser=True),
        "staff": _make_user("staffer", group=AGENCY_STAFF),
        "auditor": _make_user("auditor", group=AUDITOR),
        "support": _make_user("supporter", group=SUPPORT),
    }
    locations["A"].staff.add(users["staff"])
    locations["B"].staff.add(users["staff"])
    # Auditors and support see the agencies they are members of.
    locations["A"].agency.members.add(users["auditor"], users["support"])
    return users


@pytest.fixture
def q_sync(settings):
    """Run django-q2 tasks inline, for the tests that ask for it."""
    from django_q.conf import Conf

    previous = Conf.SYNC
    Conf.SYNC = True
    yield
    Conf.SYNC = previous


# Fixtures that start a real server: a test using one is slow (`make check` leaves it out).
SERVER_FIXTURES = {"live_server"}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config, items):
    """Slow tests carry the `slow` marker, consistently: one that starts a live server or drives a
    browser gets it here if its module forgot it, so `-m "not slow"` never runs it."""
    for item in items:
        if item.get_closest_marker("slow") is None and (
            item.get_closest_marker("browser") is not None
            or SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))
        ):
            item.add_marker(pytest.mark.slow)
