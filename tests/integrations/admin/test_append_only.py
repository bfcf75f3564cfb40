"""Logs and records are append-only in the admin for everyone, superusers included."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from integrations.models import Job, SyncLog, WebhookEvent
from mappings.models import MappingVersion
from portal.models import AuditEvent
from tests.admin_samples import SAMPLES

pytestmark = pytest.mark.slow  # every log model through the admin as a superuser

APPEND_ONLY = [SyncLog, Job, WebhookEvent, AuditEvent, MappingVersion]


@pytest.mark.parametrize("model", APPEND_ONLY, ids=lambda m: m._meta.label)
def test_superusers_cannot_add_change_or_delete_logs(client, role_users, locations, model):
    obj = SAMPLES[model._meta.label](location=locations["A"], users=role_users)
    info = model._meta.app_label, model._meta.model_name
    superuser = role_users["superuser"]
    client.force_login(superuser)

    assert client.get(reverse("admin:%s_%s_add" % info)).status_code == 403
    assert client.get(reverse("admin:%s_%s_delete" % info, args=[obj.pk])).status_code == 403
    assert (
        client.post(
            reverse("admin:%s_%s_delete" % info, args=[obj.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    page = client.get(reverse("admin:%s_%s_change" % info, args=[obj.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    client.post(reverse("admin:%s_%s_change" % info, args=[obj.pk]), {})
    assert model.objects.filter(pk=obj.pk).exists()

    request = RequestFactory().get("/")
    request.user = superuser
    model_admin = admin.site._registry[model]
    assert "delete_selected" not in model_admin.get_actions(request)
    assert not model_admin.has_change_permission(request, obj)


def test_every_other_admin_inline_of_versions_is_read_only(rf, role_users):
    from integrations.admin.mappings import MappingVersionInline

    request = rf.get("/")
    request.user = role_users["superuser"]
    inline = MappingVersionInline(MappingVersion, admin.site)
    assert not inline.has_add_permission(request, None)
    assert not inline.has_change_permission(request, None)
    assert inline.can_delete is False
