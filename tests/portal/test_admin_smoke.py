"""Open every admin page and post every admin action as each role.

What each role may do comes from the declared role table (portal.roles.ROLE_PERMISSIONS), not from
the admin classes under test; what an admin allows nobody (append-only logs, no manual adds) comes
from the superuser's view. Out-of-scope objects are tested in test_roles.py.
"""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent
from portal.roles import ROLE_PERMISSIONS
from tests.admin_samples import SAMPLES

pytestmark = (
    pytest.mark.slow
)  # every admin page and action for every role: the whole admin, tens of seconds

ROLES = ["anonymous", "superuser", "staff", "auditor", "support"]
LOGIN_URLS = ("/admin/login/", "/accounts/login/")  # the first forwards to the second
ROLE_GROUP = {"staff": "Agency staff", "auditor": "Auditor", "support": "Support"}


def registered_admins():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def role_has(role, model, action):
    if role == "superuser":
        return True
    if role == "anonymous":
        return False
    opts = model._meta
    return f"{opts.app_label}.{action}_{opts.model_name}" in ROLE_PERMISSIONS[ROLE_GROUP[role]]


def superuser_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.fixture
def smoke_world(role_users, locations):
    """One object of every registered model, in location A (which staff is assigned to)."""
    objects = {}
    for model, _ in registered_admins():
        factory = SAMPLES.get(model._meta.label)
        assert factory, f"tests/admin_samples.py needs a sample for {model._meta.label}"
        objects[model] = factory(location=locations["A"], users=role_users)
    return objects


def client_for(client, role, role_users):
    if role != "anonymous":
        client.force_login(role_users[role])
    return client


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_page_answers_as_the_role_allows(client, role, role_users, smoke_world):
    client = client_for(client, role, role_users)
    su = superuser_request(role_users["superuser"])
    failures = []
    for model, model_admin in registered_admins():
        info = model._meta.app_label, model._meta.model_name
        obj = smoke_world[model]
        can_view = role_has(role, model, "view") or role_has(role, model, "change")
        pages = [
            ("changelist", reverse("admin:%s_%s_changelist" % info), can_view),
            (
                "add",
                reverse("admin:%s_%s_add" % info),
                role_has(role, model, "add") and model_admin.has_add_permission(su),
            ),
            ("change", reverse("admin:%s_%s_change" % info, args=[obj.pk]), can_view),
            ("history", reverse("admin:%s_%s_history" % info, args=[obj.pk]), can_view),
            (
                "delete",
                reverse("admin:%s_%s_delete" % info, args=[obj.pk]),
                role_has(role, model, "delete") and model_admin.has_delete_permission(su, obj),
            ),
        ]
        for page, url, allowed in pages:
            response = client.get(url)
            if role == "anonymous":
                expected = 302
                ok = response.status_code == 302 and response.url.startswith(LOGIN_URLS)
            else:
                expected = 200 if allowed else 403
                ok = response.status_code == expected
            if not ok:
                failures.append(f"{model._meta.label} {page}: {response.status_code} != {expected}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_action_runs_only_for_roles_allowed_to(client, role, role_users, smoke_world):
    client = client_for(client, role, role_users)
    su = superuser_request(role_users["superuser"])
    checked = 0
    for model, model_admin in registered_admins():
        info = model._meta.app_label, model._meta.model_name
        for name, (func, _, _) in model_admin.get_actions(su).items():
            needed = getattr(func, "allowed_permissions", ())
            allowed = (role_has(role, model, "view") or role_has(role, model, "change")) and all(
                role_has(role, model, perm) for perm in needed
            )
            if name == "delete_selected":
                allowed = allowed and role_has(role, model, "delete")
            url = reverse("admin:%s_%s_changelist" % info)
            data = {"action": name, "_selected_action": [smoke_world[model].pk], "index": 0}
            where = f"{model._meta.label} action {name} as {role}"
            checked += 1
            if role == "anonymous":
                response = client.post(url, data)
                assert response.status_code == 302 and response.url.startswith(LOGIN_URLS), where
                continue
            # Django redirects back to the changelist after an action it refused to run.
            response = client.post(url, data, follow=True)
            if allowed and response.streaming:  # a file download (CSV export)
                assert response.status_code == 200 and b"".join(response.streaming_content), where
                continue
            not_selected = b"No action selected" in response.content
            if allowed:
                assert response.status_code == 200 and not not_selected, where
            else:
                offered = f'value="{name}"'.encode() in response.content
                refused = response.status_code == 403 or (
                    response.status_code == 200
                    and (not_selected or not offered)
                    and b"Are you sure?" not in response.content
                )
                assert refused, f"{where}: {response.status_code}"
    assert checked >= 3


@pytest.mark.django_db
def test_read_only_roles_can_change_nothing_through_the_admin(client, role_users, smoke_world):
    for role in ("auditor", "support"):
        client.force_login(role_users[role])
        for model, _ in registered_admins():
            info = model._meta.app_label, model._meta.model_name
            obj = smoke_world[model]
            response = client.post(reverse("admin:%s_%s_change" % info, args=[obj.pk]), {})
            assert response.status_code in (403, 200), (role, model)
            if response.status_code == 200:
                # A read-only change page answers a POST by showing the page, saving nothing.
                assert b'name="_save"' not in response.content, (role, model)
    assert AuditEvent.objects.count() >= 1
    assert Group.objects.count() >= 3
    assert timezone.now()
