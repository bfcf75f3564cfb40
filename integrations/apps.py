from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "HighLevel integrations"

    def ready(self):
        # Register the system checks.
        from integrations import checks  # noqa: F401
        from integrations.catalog import checks as catalog_checks  # noqa: F401
