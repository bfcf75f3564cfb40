import pytest
from django.urls import reverse
from django.utils import timezone

from sandbox.access.models import (
    FaultRule,
    Installation,
    MarketplaceApp,
    SandboxCompany,
    SandboxLocation,
    Token,
    WebhookDelivery,
    WebhookEvent,
    WebhookKey,
)
from sandbox.access.services.signing import webhook_public_keys
from tests.sandbox.access.helpers import tokens_for

MODELS = [
    FaultRule,
    Installation,
    MarketplaceApp,
    SandboxCompany,
    SandboxLocation,
    Token,
    WebhookDelivery,
    WebhookEvent,
    WebhookKey,
]


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.usefixtures("registered")
def test_every_sandbox_access_admin_page_opens(admin_client):
    tokens_for(admin_client)
    webhook_public_keys()
    FaultRule.objects.create(location_id="demo-loc-0001", error_rate=0.5)
    for model in MODELS:
        assert admin_client.get(url(model, "changelist")).status_code == 200, model
        obj = model.objects.first()
        if obj is not None:
            page = admin_client.get(url(model, "change", obj.pk))
            assert page.status_code == 200, model
            assert b"PRIVATE KEY" not in page.content
    assert admin_client.get(url(FaultRule, "add")).status_code == 200


@pytest.mark.usefixtures("registered")
def test_the_admin_creates_a_private_token_shown_once(admin_client):
    tokens_for(admin_client)  # installs the app on demo-loc-0001
    location = SandboxLocation.objects.get(location_id="demo-loc-0001")
    response = admin_client.post(
        url(SandboxLocation, "changelist"),
        {
            "action": "create_private_token",
            "_selected_action": [location.pk],
        },
        follow=True,
    )
    text = response.content.decode()
    assert "pit-" in text
    token = Token.objects.get(kind=Token.PRIVATE)
    assert token.location == location and "contacts.readonly" in token.scope_set
    value = text[text.index("pit-") :].split("<", 1)[0]
    assert token.token_hash != value and value.endswith(token.hint)


@pytest.mark.usefixtures("registered")
def test_the_admin_expires_tokens_and_sets_faults(admin_client):
    tokens_for(admin_client)
    rule = FaultRule.objects.create(location_id="demo-loc-0001", request_count=9)
    admin_client.post(
        url(FaultRule, "changelist"), {"action": "expire_tokens", "_selected_action": [rule.pk]}
    )
    assert Token.objects.filter(kind=Token.ACCESS).exists()
    assert not Token.objects.filter(kind=Token.ACCESS, expires_at__gt=timezone.now()).exists()
    admin_client.post(
        url(FaultRule, "changelist"), {"action": "restart_sequence", "_selected_action": [rule.pk]}
    )
    rule.refresh_from_db()
    assert rule.request_count == 0
    response = admin_client.post(
        url(FaultRule, "add"),
        {
            "location_id": "",
            "enabled": "on",
            "seed": "3",
            "storm_rate": "0",
            "retry_after": "10",
            "error_rate": "1.5",
            "error_status": "503",
            "latency_ms": "0",
            "drop_rate": "0",
            "html_rate": "0",
        },
    )
    assert response.status_code == 200  # refused: 1.5 is not a rate
    assert not FaultRule.objects.filter(location_id="").exists()


@pytest.mark.usefixtures("registered")
def test_the_admin_rotates_an_apps_client_secret_and_the_old_one_stops_working(admin_client):
    from tests.sandbox.access.helpers import consent_post, token_post

    app = MarketplaceApp.objects.get()
    response = admin_client.post(
        url(MarketplaceApp, "changelist"),
        {
            "action": "rotate_secret",
            "_selected_action": [app.pk],
        },
        follow=True,
    )
    text = response.content.decode()
    secret = text[text.index("New client secret") :].split("<code>", 1)[1].split("</code>", 1)[0]
    old = token_post(
        admin_client, grant_type="authorization_code", code=consent_post(admin_client)[0]["code"]
    )
    assert old.status_code == 401
    new = token_post(
        admin_client,
        client_secret=secret,
        grant_type="authorization_code",
        code=consent_post(admin_client)[0]["code"],
    )
    assert new.status_code == 200


@pytest.mark.usefixtures("registered")
def test_the_admin_uninstalls_and_creates_locations_with_their_events(admin_client):
    tokens_for(admin_client)  # installs the app on demo-loc-0001
    install = Installation.objects.get(location__location_id="demo-loc-0001")
    answer = admin_client.post(
        url(Installation, "changelist"),
        {"action": "uninstall", "_selected_action": [install.pk]},
        follow=True,
    )
    assert answer.status_code == 200 and b"Uninstalled" in answer.content
    assert not Installation.objects.filter(pk=install.pk).exists()
    assert WebhookEvent.objects.filter(event_type="UNINSTALL", location_id="demo-loc-0001").exists()
    assert not Token.objects.filter(
        location__location_id="demo-loc-0001", kind=Token.ACCESS, revoked_at=None
    ).exists()

    company = SandboxCompany.objects.get(company_id="demo-company-0001")
    before = company.locations.count()
    answer = admin_client.post(
        url(SandboxCompany, "changelist"),
        {"action": "create_location", "_selected_action": [company.pk]},
        follow=True,
    )
    assert answer.status_code == 200 and company.locations.count() == before + 1
    created = WebhookEvent.objects.filter(event_type="LocationCreate").latest("pk")
    assert created.location_id == "" and '"companyId":"demo-company-0001"' in created.body

    admin_client.post(
        url(SandboxLocation, "add"),
        {"company": company.pk, "location_id": "loc-by-admin", "name": "By admin", "address": ""},
    )
    assert SandboxLocation.objects.filter(location_id="loc-by-admin").exists()
    assert WebhookEvent.objects.filter(
        event_type="LocationCreate", body__contains="loc-by-admin"
    ).exists()


@pytest.mark.django_db
def test_the_admin_rotates_the_signing_keys_announce_promote_retire(admin_client):
    webhook_public_keys()
    rsa = WebhookKey.objects.get(kind=WebhookKey.RSA)

    def act(action, follow=True):
        return admin_client.post(
            url(WebhookKey, "changelist"),
            {"action": action, "_selected_action": [rsa.pk]},
            follow=follow,
        ).content.decode()

    assert "announce one first" in act("promote_next")
    act("announce_next")
    published = webhook_public_keys()
    assert published["rsa_keys"] == [
        rsa.public_pem,
        WebhookKey.objects.get(state="next").public_pem,
    ]
    assert len(published["ed25519_keys"]) == 1  # only the selected key's kind rotates
    act("promote_next")
    published = webhook_public_keys()
    assert published["rsa"] != rsa.public_pem and published["rsa_keys"][-1] == rsa.public_pem
    act("retire_previous")
    assert webhook_public_keys()["rsa_keys"] == [published["rsa"]]
    assert not WebhookKey.objects.filter(pk=rsa.pk).exists()


@pytest.mark.usefixtures("registered")
def test_the_admin_switches_an_installs_plan_with_a_plan_change_event(admin_client):
    tokens_for(admin_client)  # installs the app on demo-loc-0001
    install = Installation.objects.get(location__location_id="demo-loc-0001")
    before = install.plan_id
    answer = admin_client.post(
        url(Installation, "changelist"),
        {"action": "switch_plan", "_selected_action": [install.pk]},
        follow=True,
    )
    assert answer.status_code == 200 and b"sandbox-plan-pro" in answer.content
    install.refresh_from_db()
    assert install.plan_id == "sandbox-plan-pro" != before
    event = WebhookEvent.objects.get(event_type="PLAN_CHANGE", location_id="demo-loc-0001")
    assert f'"currentPlanId":"{before}","newPlanId":"sandbox-plan-pro"' in event.body
