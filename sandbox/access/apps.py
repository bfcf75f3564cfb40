from django.apps import AppConfig


class SandboxAccessConfig(AppConfig):
    name = "sandbox.access"
    label = "sandbox_access"
    verbose_name = "HighLevel sandbox: access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from sandbox.apps import admin_hide_unless_enabled

        admin_hide_unless_enabled(self)
