"""The resources admin: superusers read; staff in role groups do not see it."""

import pytest
from django.contrib.auth.models import Group, User

from sandbox.state.store import resource_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def resource():
    return resource_create(kind="contact", location_id="loc-a", data={"name": "Zed <b>"})


def test_a_superuser_reads_the_list_and_a_resource(client, resource):
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw-123456789"))
    listing = client.get("/admin/sandbox/resource/")
    assert listing.status_code == 200 and b"Zed &lt;b&gt;" in listing.content
    detail = client.get(f"/admin/sandbox/resource/{resource.seq}/change/")
    assert detail.status_code == 200 and b"&quot;Zed &lt;b&gt;&quot;" in detail.content
    assert client.get("/admin/sandbox/resource/add/").status_code == 403


def test_staff_in_every_role_group_cannot_see_it(client, resource):
    user = User.objects.create_user("staff", "s@example.com", "pw-123456789", is_staff=True)
    assert Group.objects.exists()  # the role groups from portal.roles
    user.groups.set(Group.objects.all())
    client.force_login(user)
    assert client.get("/admin/sandbox/resource/").status_code == 403
