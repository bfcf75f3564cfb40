"""Small builders shared by the rankr and mappings tests."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from portal.models import Agency, Location
from portal.roles import AUDITOR, SUPPORT

PASSWORD = "a-test-password-123"


def location_make(*, agency=None, number=1):
    agency = agency or Agency.objects.get_or_create(name="Agency", company_id="co-1")[0]
    return Location.objects.create(
        agency=agency, location_id=f"loc-{number}", name=f"Location {number}"
    )


def user_make(*, username, role=None, locations=(), superuser=False):
    User = get_user_model()
    if superuser:
        return User.objects.create_superuser(username, f"{username}@t.test", PASSWORD)
    user = User.objects.create_user(username, f"{username}@t.test", PASSWORD, is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    if role in (AUDITOR, SUPPORT):  # they see the agencies they are members of: every one here
        user.member_agencies.add(*Agency.objects.all())
    for location in locations:
        location.staff.add(user)
    return user
