"""The demo's HighLevel app: the portal's side of the sandbox demo app (``make demo``).

The sandbox registers the same client id and secret on its side (``manage.py sandbox_demo_app``);
the portal never imports the sandbox, the Makefile runs both commands.
"""

from django.conf import settings

from integrations.catalog.registry import registry
from integrations.ghl.models import HighLevelApp
from portal.errors import PortalError

DEMO_CLIENT_ID = "rankr-demo-client"
DEMO_CLIENT_SECRET = "rankr-demo-secret"  # noqa: S105 - documented demo credentials, sandbox mode only
DEMO_APP_NAME = "Rankr (sandbox demo)"


class DemoAppRefused(PortalError):
    pass


def demo_app_ensure(*, redirect_url: str) -> tuple[HighLevelApp, bool]:
    """Create or update the sandbox-mode demo app; returns (app, created). Never in production."""
    if settings.PORTAL_ENV == "production" or not settings.DEMO_ALLOWED:
        raise DemoAppRefused(
            "The demo HighLevel app is never registered in production: it needs DEBUG on."
        )
    scopes = " ".join(sorted({scope for op in registry().values() for scope in op.scopes}))
    app = HighLevelApp.objects.filter(
        client_id=DEMO_CLIENT_ID, mode=HighLevelApp.Mode.SANDBOX
    ).first()
    created = app is None
    if app is None:
        app = HighLevelApp(client_id=DEMO_CLIENT_ID, mode=HighLevelApp.Mode.SANDBOX)
    app.name = DEMO_APP_NAME
    app.app_id = DEMO_CLIENT_ID  # the sandbox knows the app by its client id
    app.redirect_url = redirect_url
    app.scopes = scopes
    app.client_secret = DEMO_CLIENT_SECRET
    app.full_clean()
    app.save()
    return app, created
