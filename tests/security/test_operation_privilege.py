"""Least privilege for operations: every catalog operation has a class; staff send reads and the
flows' operations, every other class needs a permission a superuser grants; deletes confirm."""

from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from integrations.catalog.privilege import PRIVILEGES, operation_privilege
from integrations.catalog.privilege_table import REVIEWED
from integrations.catalog.registry import operation_get, registry
from integrations.models import Job
from portal.roles import ROLE_PERMISSIONS


def test_every_operation_has_a_class_and_the_reviewed_table_names_real_operations():
    operations = registry()
    classes = {key: operation_privilege(op).key for key, op in operations.items()}
    assert len(classes) == 576 and set(classes.values()) <= set(PRIVILEGES)
    assert set(REVIEWED) <= set(operations)
    assert classes["GET /contacts/{contactId}"] == "read"
    assert classes["POST /contacts/search"] == "read"  # a read sent as a POST (readonly scope)
    assert classes["POST /contacts/upsert"] == "flow"
    assert classes["DELETE /contacts/{contactId}"] == "delete"
    assert classes["POST /conversations/messages"] == "messaging"
    assert classes["POST /users/"] == "users"
    assert classes["PUT /contacts/{contactId}"] == "write"
    assert {c for k, c in classes.items() if k.startswith("DELETE ")} == {"delete"}
    assert PRIVILEGES["delete"].destructive
    # No role holds a class permission: a superuser grants each one.
    granted = set().union(*ROLE_PERMISSIONS.values())
    assert not {p.permission for p in PRIVILEGES.values() if p.permission} & granted


def _run(client, key, data):
    return client.post(reverse("catalog:run") + "?" + urlencode({"op": key}), data)


@pytest.fixture
def staff(role_users, connection):
    connection.location.staff.add(role_users["staff"])
    return role_users["staff"]


@pytest.mark.django_db
def test_staff_send_reads_but_a_delete_needs_its_permission_and_a_confirmation(
    client, staff, connection, mocked, api_base
):
    client.force_login(staff)
    mocked.get(f"{api_base}/contacts/c1", json={"contact": {"id": "c1"}})
    read = _run(
        client, "GET /contacts/{contactId}", {"connection": connection.pk, "p_contactId": "c1"}
    )
    assert read.status_code == 302 and len(mocked.calls) == 1

    page = client.get(reverse("catalog:run") + "?op=DELETE%20/contacts/%7BcontactId%7D")
    html = page.content.decode()
    assert "delete" in html and "integrations.send_delete_operations" in html
    data = {"connection": connection.pk, "p_contactId": "c1", "confirm": "on"}
    refused = _run(client, "DELETE /contacts/{contactId}", data)
    assert refused.status_code == 403
    assert "integrations.send_delete_operations" in refused.content.decode()
    assert (
        len(mocked.calls) == 1 and not Job.objects.filter(operation__startswith="DELETE").exists()
    )

    staff.user_permissions.add(
        Permission.objects.get(
            codename="send_delete_operations", content_type__app_label="integrations"
        )
    )
    client.force_login(staff)
    unconfirmed = _run(client, "DELETE /contacts/{contactId}", {**data, "confirm": ""})
    assert unconfirmed.status_code == 200 and "tick the box" in unconfirmed.content.decode()
    assert len(mocked.calls) == 1
    mocked.delete(f"{api_base}/contacts/c1", json={"succeded": True})
    sent = _run(client, "DELETE /contacts/{contactId}", data)
    assert sent.status_code == 302 and len(mocked.calls) == 2


@pytest.mark.django_db
def test_the_operations_browser_shows_each_operations_class(client, role_users):
    client.force_login(role_users["staff"])
    html = client.get(reverse("catalog:operations"), {"source": "users.json"}).content.decode()
    assert "<th>Privilege</th>" in html and "users and roles" in html
    assert operation_get("GET /users/{userId}").privilege.key == "read"


@pytest.mark.django_db
def test_replaying_an_action_needs_its_operations_permission(client, role_users, locations):
    """A user granted re-runs still needs the action's class permission (a delete's) to replay it."""
    staff = role_users["staff"]
    staff.user_permissions.add(
        Permission.objects.get(codename="rerun_job", content_type__app_label="integrations")
    )
    job = Job.objects.create(
        kind="action",
        status="failed",
        location=locations["A"],
        operation="DELETE /contacts/{contactId}",
        idempotency_key="delete-1",
    )
    client.force_login(staff)
    refused = client.post(reverse("admin:integrations_job_rerun", args=[job.pk]))
    assert refused.status_code == 403
    assert "integrations.send_delete_operations" in refused.content.decode()
    staff.user_permissions.add(
        Permission.objects.get(
            codename="send_delete_operations", content_type__app_label="integrations"
        )
    )
    client.force_login(staff)
    assert client.post(reverse("admin:integrations_job_rerun", args=[job.pk])).status_code == 302
    job.refresh_from_db()
    assert job.status == "queued"
