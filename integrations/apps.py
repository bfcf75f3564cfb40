from django.apps import AppConfig


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
