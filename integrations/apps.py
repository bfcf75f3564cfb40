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
        # Each worker process django-q2 spawns beats from a thread of its own (its heartbeat).
        from django_q.signals import post_spawn

        from integrations import checks  # noqa: F401
        from integrations.catalog import checks as catalog_checks  # noqa: F401
        from integrations.sync.heartbeats import heartbeat_worker_start

        post_spawn.connect(heartbeat_worker_start, dispatch_uid="portal-worker-heartbeat")

        post_migrate.connect(_partitions_ahead, sender=self)
