"""Mounted by portal/urls.py at /admin/catalog/ (namespace ``catalog``)."""

from integrations.interfaces.catalog_admin import catalog_urls

app_name = "catalog"
urlpatterns = catalog_urls()
