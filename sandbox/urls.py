from django.urls import include, path

from sandbox.api.dispatch import api_dispatch

app_name = "sandbox"
urlpatterns = [
    path("api/", api_dispatch, name="api-root"),
    path("api/<path:path>", api_dispatch, name="api"),
    # OAuth, consent, fault control and webhook keys: sandbox.access (its own namespace).
    path("", include("sandbox.access.urls")),
]
