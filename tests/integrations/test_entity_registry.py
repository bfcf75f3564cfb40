"""One module per synced entity: registering a throwaway one (tests/entityapp/widget.py, with its
model in the test app, nothing else written) is enough for it to be polled, routed from a
webhook, mapped, applied from a flow template and shown in the admin."""

import base64
import importlib
import json

import pytest
from django.contrib import admin
from django.urls import clear_url_caches
from django.utils import timezone

import mappings.entities as registry
from integrations.catalog.named import named_get
from integrations.catalog.polling import poll_plan
from integrations.models import Job, Subscription, WebhookEvent
from integrations.sync.jobs import job_run
from integrations.sync.subscriptions import subscription_save
from mappings.services import mapping_template_apply
from tests.entityapp import widget
from tests.entityapp.models import Widget
from tests.integrations.subscriptions.conftest import run_once

TRIGGER = "List Contacts (Deprecated)"


def _urls_reload():
    import portal.urls

    importlib.reload(portal.urls)
    clear_url_caches()


@pytest.fixture
def widget_registered(monkeypatch):
    from django.conf import settings as live_settings
    from django.test import override_settings

    sandbox_enabled = live_settings.SANDBOX_ENABLED  # before signing_key turns it off
    monkeypatch.setattr(registry, "ENTITY_MODULES", [*registry.ENTITY_MODULES, widget])
    yield widget.ENTITY
    if admin.site.is_registered(Widget):
        admin.site.unregister(Widget)
    # The URLs as every other test expects them (the sandbox served if it was), whatever order
    # the fixtures' settings are restored in.
    with override_settings(SANDBOX_ENABLED=sandbox_enabled):
        _urls_reload()


def _webhook(client, key, **payload):
    raw = json.dumps(
        {"locationId": "loc-1", "timestamp": timezone.now().isoformat(), **payload}
    ).encode()
    signature = base64.b64encode(key.sign(raw)).decode()
    return client.post(
        "/integrations/webhooks/highlevel/",
        raw,
        content_type="application/json",
        HTTP_X_GHL_SIGNATURE=signature,
    )


def test_an_unregistered_entity_is_unknown_everywhere():
    assert "widget" not in registry.ENTITIES
    assert "ghl_widgets" not in registry.FLOW_TEMPLATES
    assert "WidgetUpdate" not in registry.ROUTES
    assert poll_plan(named_get(TRIGGER)).change_key != "dateUpdated"


@pytest.mark.django_db(transaction=True)
def test_a_registered_entity_is_polled_routed_mapped_applied_and_shown(
    widget_registered, fake, connection, location, client, signing_key, q_sync, django_user_model
):
    # Applied from its flow template: an ordinary mapping of the widget entity.
    mapping, created = mapping_template_apply(
        template_key="ghl_widgets", location_id=location.pk, user_id=None
    )
    assert created and (mapping.entity, mapping.operation_key) == ("widget", "GET /contacts/")

    # Polled: the trigger's plan takes the entity's override, and the records become widgets.
    assert poll_plan(named_get(TRIGGER)).change_key == "dateUpdated"
    fake.add(3)
    fake.rows[0]["firstName"] = "  Spaced  "
    subscription = subscription_save(
        subscription=Subscription(
            location=location, connection=connection, trigger=TRIGGER, mapping=mapping
        ),
        user_id=None,
    )
    job = run_once(subscription)
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    widgets = {w.ghl_id: w for w in Widget.objects.filter(location=location)}
    assert set(widgets) == {row["id"] for row in fake.rows}
    # Mapped: the template's rules ran (trim the name, lower-case the email).
    first = widgets[fake.rows[0]["id"]]
    assert first.name == "Spaced" and first.email == fake.rows[0]["email"].lower()

    # Routed from a webhook: a signed WidgetUpdate lands on a job that updates the widget.
    ghl_id = fake.rows[1]["id"]
    response = _webhook(
        client,
        signing_key,
        type="WidgetUpdate",
        webhookId="wh-widget",
        id=ghl_id,
        firstName="Renamed",
        email="NEW@example.com",
    )
    assert response.status_code == 200
    assert WebhookEvent.objects.get(webhook_id="wh-widget").status == WebhookEvent.Status.PROCESSED
    webhook_job = Job.objects.get(idempotency_key="webhook:wh-widget")
    if webhook_job.status == Job.Status.QUEUED:
        job_run(job_id=webhook_job.pk)
    webhook_job.refresh_from_db()
    assert webhook_job.status == Job.Status.SUCCEEDED, webhook_job.error_message
    renamed = Widget.objects.get(location=location, ghl_id=ghl_id)
    assert (renamed.name, renamed.email) == ("Renamed", "new@example.com")
    _webhook(client, signing_key, type="WidgetDelete", webhookId="wh-widget-gone", id=ghl_id)
    gone = Job.objects.get(idempotency_key="webhook:wh-widget-gone")
    if gone.status == Job.Status.QUEUED:
        job_run(job_id=gone.pk)
    assert Widget.objects.get(location=location, ghl_id=ghl_id).deleted_at is not None

    # Shown in the admin: the record admin registered from the registry lists the widgets.
    from integrations.admin.rankr import entity_admins_register

    entity_admins_register()
    _urls_reload()
    superuser = django_user_model.objects.create_superuser(
        "root", "root@example.com", "pw-root-1234"
    )
    client.force_login(superuser)
    page = client.get("/admin/entityapp/widget/")
    assert page.status_code == 200
    for ghl_id in widgets:
        assert ghl_id in page.content.decode()
