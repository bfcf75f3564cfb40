"""Role groups carry exactly their declared permissions; location scoping holds everywhere."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from portal.models import Location
from portal.roles import ROLE_NAMES, ROLE_PERMISSIONS
from portal.scoping import locations_for_user


@pytest.mark.django_db
def test_role_groups_have_exactly_the_declared_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLE_NAMES)
    for role in ROLE_NAMES:
        granted = {
            f"{app}.{codename}"
            for app, codename in Group.objects.get(name=role).permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        assert granted == ROLE_PERMISSIONS[role], role


@pytest.mark.django_db
def test_no_role_may_change_anything_it_only_reads():
    auditor = ROLE_PERMISSIONS["Auditor"]
    assert all(perm.split(".")[1].startswith(("view_", "export_")) for perm in auditor)


def test_staff_sees_only_assigned_locations(role_users, locations):
    staff = role_users["staff"]
    assert set(locations_for_user(staff)) == {locations["A"], locations["B"]}
    for role in ("auditor", "support", "superuser"):
        assert set(locations_for_user(role_users[role])) == set(Location.objects.all())


def test_staff_never_lists_or_opens_another_location(client, role_users, locations):
    client.force_login(role_users["staff"])
    listing = client.get(reverse("admin:portal_location_changelist"))
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "Location A" in body and "Location B" in body and "Location C" not in body

    own = client.get(reverse("admin:portal_location_change", args=[locations["A"].pk]))
    assert own.status_code == 200
    other = client.get(reverse("admin:portal_location_change", args=[locations["C"].pk]))
    # Django's admin answers a missing (here: out-of-scope) object with a redirect to the index.
    assert other.status_code == 302 and other.url == reverse("admin:index")
    search = client.get(reverse("admin:portal_location_changelist"), {"q": "loc-C"})
    assert "Location C" not in search.content.decode()


def test_staff_cannot_act_on_another_location_by_posting_its_id(client, role_users, locations):
    """Even a hand-made action POST naming C's id only ever touches the scoped queryset."""
    admin_user = role_users["superuser"]
    client.force_login(role_users["staff"])
    response = client.post(
        reverse("admin:portal_location_changelist"),
        {"action": "delete_selected", "_selected_action": [locations["C"].pk]},
    )
    # No such action for staff: the list comes back (a redirect now that staff have actions).
    assert response.status_code in (200, 302)
    assert Location.objects.filter(pk=locations["C"].pk).exists()
    response = client.post(
        reverse("admin:portal_location_changelist"),
        {
            "action": "apply_flow_templates",
            "_selected_action": [locations["A"].pk, locations["C"].pk],
        },
    )
    assert response.status_code == 302
    assert response.url.endswith(f"?locations={locations['A'].pk}")
    assert admin_user.is_superuser
