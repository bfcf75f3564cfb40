from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "HighLevel integrations"

    def ready(self):
        from integrations.catalog import checks  # noqa: F401  (registers catalog.E001/E002)
