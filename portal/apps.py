from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Agencies and locations"

    def ready(self):
        from allauth.account.decorators import secure_admin_login
        from django.contrib import admin

        from portal import checks  # noqa: F401  (registers the system checks)

        # The admin signs in through allauth, so its MFA stage applies there too.
        admin.site.login = secure_admin_login(admin.site.login)
