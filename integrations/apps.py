from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _partitions_ahead(sender, using="default", **kwargs):
    """Every ``migrate`` creates today's and the next days' partitions (PostgreSQL only)."""
    from django.db import connections

    from integrations.sync.partitions import partitions_ensure

    partitions_ensure(using=connections[using])


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "HighLevel integrations"

    def ready(self):
        # Register the system checks.
        from integrations import checks  # noqa: F401
        from integrations.catalog import checks as catalog_checks  # noqa: F401

        post_migrate.connect(_partitions_ahead, sender=self)
