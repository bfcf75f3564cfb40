import pytest
from django.core.management import CommandError, call_command

from integrations.models import HighLevelApp

CALLBACK = "http://127.0.0.1:8000/integrations/oauth/callback/"


@pytest.mark.django_db
def test_the_demo_app_is_registered_in_sandbox_mode_with_the_demo_credentials(capsys):
    call_command("highlevel_demo_app", "--redirect-url", CALLBACK)
    app = HighLevelApp.objects.get()
    assert (app.mode, app.client_id, app.client_secret) == (
        "sandbox",
        "rankr-demo-client",
        "rankr-demo-secret",
    )
    assert app.redirect_url == CALLBACK and app.marketplace_app_id == "rankr-demo-client"
    assert {"contacts.readonly", "contacts.write", "oauth.readonly"} <= app.scope_set
    assert "Registered Rankr (sandbox demo)" in capsys.readouterr().out


@pytest.mark.django_db
def test_registering_again_updates_the_one_demo_app():
    call_command("highlevel_demo_app", "--redirect-url", CALLBACK)
    call_command(
        "highlevel_demo_app", "--redirect-url", "http://127.0.0.1:9000/integrations/oauth/callback/"
    )
    assert HighLevelApp.objects.get().redirect_url.startswith("http://127.0.0.1:9000/")


@pytest.mark.django_db
def test_the_demo_app_is_never_registered_in_production(settings):
    settings.PORTAL_ENV = "production"
    with pytest.raises(CommandError, match="never registered in production"):
        call_command("highlevel_demo_app")
    assert not HighLevelApp.objects.exists()
