"""Mounted by portal/urls.py at /admin/catalog/ (namespace ``catalog``)."""

from integrations.catalog.admin import catalog_urls

app_name = "catalog"
urlpatterns = catalog_urls()
