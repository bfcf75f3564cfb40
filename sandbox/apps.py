from django.apps import AppConfig


def admin_hide_unless_enabled(app_config: AppConfig) -> None:
    """With the sandbox off its admin pages go too (the admin registered them on autodiscover,
    which runs before this app's ready())."""
    from django.conf import settings
    from django.contrib import admin

    if settings.SANDBOX_ENABLED:
        return
    for model in app_config.get_models():
        if admin.site.is_registered(model):
            admin.site.unregister(model)


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "HighLevel sandbox"

    def ready(self):
        admin_hide_unless_enabled(self)
