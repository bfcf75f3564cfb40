from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """django.contrib.admin with the portal's site (its home page is the health dashboard)."""

    default_site = "integrations.interfaces.admin_site.PortalAdminSite"

    def ready(self):
        super().ready()
        from portal.admin_links import admin_links_install

        admin_links_install()
