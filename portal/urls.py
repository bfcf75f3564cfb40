from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from integrations.interfaces import health

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path(
        "favicon.ico",
        RedirectView.as_view(url=settings.STATIC_URL + "portal/favicon.svg", permanent=True),
    ),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", health.metrics, name="metrics"),
    path("accounts/", include("allauth.urls")),
    path("admin/catalog/", include("integrations.interfaces.catalog_urls")),
    path("admin/", admin.site.urls),
    path("integrations/", include("integrations.interfaces.urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))

handler403 = "portal.refusals.permission_denied"
