"""The auditor causes no outbound call: no *Fetch a sample* for them; staff keep it."""

import pytest
from django.urls import reverse

from integrations.models import SyncLog
from mappings.services import mapping_template_apply

pytestmark = pytest.mark.django_db


@pytest.fixture
def mapping(locations):
    return mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=locations["A"].pk, user_id=None
    )[0]


def preview_url(mapping):
    return reverse("admin:mappings_mapping_preview", args=[mapping.pk])


def test_the_auditor_sees_no_fetch_button_and_cannot_post_one(client, role_users, mapping, mocked):
    client.force_login(role_users["auditor"])
    page = client.get(preview_url(mapping))
    assert page.status_code == 200 and "Fetch a sample from HighLevel" not in page.content.decode()
    assert client.post(preview_url(mapping), {"fetch": "1"}).status_code == 403
    assert len(mocked.calls) == 0 and not SyncLog.objects.exists()


def test_staff_who_may_change_the_mapping_keep_the_fetch_button(client, role_users, mapping):
    client.force_login(role_users["staff"])
    assert "Fetch a sample from HighLevel" in client.get(preview_url(mapping)).content.decode()
