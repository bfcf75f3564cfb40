from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """django.contrib.admin with the portal's site (its home page is the health dashboard)."""

    default_site = "integrations.interfaces.admin_site.PortalAdminSite"
