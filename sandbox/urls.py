"""The sandbox's URLs: HighLevel's own paths under each of HighLevel's host roles.

``services/`` stands for services.leadconnectorhq.com (the API and ``/oauth/token``),
``marketplace/`` for marketplace.gohighlevel.com and ``marketplace-whitelabel/`` for
marketplace.leadconnectorhq.com (``/v2/oauth/chooselocation``, docs/oauth/Authorization.md).
The portal reaches them through ``HighLevelApp.hosts`` exactly as it reaches HighLevel.
``api/`` and the bare OAuth paths stay as aliases for older clients and scripts.
"""

from django.urls import include, path

from sandbox.access import views_oauth
from sandbox.api.dispatch import api_dispatch
from sandbox.api.handlers.uploads import file_serve

app_name = "sandbox"
urlpatterns = [
    path("services/", api_dispatch, name="services-root"),
    path("services/<path:path>", api_dispatch, name="services"),
    path("marketplace/v2/oauth/chooselocation", views_oauth.consent, name="marketplace-consent"),
    path(
        "marketplace-whitelabel/v2/oauth/chooselocation",
        views_oauth.consent,
        name="marketplace-whitelabel-consent",
    ),
    path("files/<str:file_id>", file_serve, name="file"),
    path("api/", api_dispatch, name="api-root"),
    path("api/<path:path>", api_dispatch, name="api"),
    # OAuth, consent, fault control and webhook keys: sandbox.access (its own namespace).
    path("", include("sandbox.access.urls")),
]
