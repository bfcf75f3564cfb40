import pytest
from django.core.management import CommandError, call_command

from sandbox.access.models import MarketplaceApp
from sandbox.access.services.oauth import app_for_client

CALLBACK = "http://127.0.0.1:8000/integrations/oauth/callback/"


@pytest.mark.django_db
def test_the_command_registers_the_demo_app_with_the_portals_callback():
    call_command("sandbox_demo_app", "--redirect-uri", CALLBACK)
    app = app_for_client(client_id="rankr-demo-client")
    assert app is not None and CALLBACK in str(app.redirect_uris)
    call_command("sandbox_demo_app", "--redirect-uri", CALLBACK)  # idempotent
    assert MarketplaceApp.objects.filter(client_id="rankr-demo-client").count() == 1


@pytest.mark.django_db
def test_the_command_refuses_production(settings):
    settings.PORTAL_ENV = "production"
    with pytest.raises(CommandError, match="never registered in production"):
        call_command("sandbox_demo_app", "--redirect-uri", CALLBACK)
