from django.db import models


class Heartbeat(models.Model):
    """The last sign of life of one long-running process: a worker process or a dispatcher loop.

    One row per process (``host:pid``), written on the database's clock every few seconds by the
    process itself (:mod:`integrations.sync.heartbeats`). A component is healthy while one of its
    processes beat within ``HEARTBEAT_STALE_S``; rows silent for ``HEARTBEAT_FORGET_S`` are
    dropped (a recycled worker process or a stopped host is forgotten, not stale forever).
    """

    class Component(models.TextChoices):
        WORKER = "worker", "worker (qcluster)"
        DISPATCHER = "dispatcher", "dispatcher (dispatch --loop)"

    component = models.CharField("component", max_length=16, choices=Component.choices)
    process = models.CharField("process", max_length=200, help_text="host:pid")
    host = models.CharField("host", max_length=200)
    started_at = models.DateTimeField("started", help_text="On the database's clock.")
    beat_at = models.DateTimeField("last beat", help_text="On the database's clock.")
    beats = models.PositiveBigIntegerField("beats", default=0)

    class Meta:
        verbose_name = "process heartbeat"
        ordering = ["component", "host", "process"]
        permissions = [("view_metrics", "Can read the Prometheus metrics (/metrics)")]
        constraints = [
            models.UniqueConstraint(fields=["component", "process"], name="heartbeat_once")
        ]

    def __str__(self) -> str:
        return f"{self.component} {self.process}"
