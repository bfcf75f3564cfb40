from django.conf import settings
from django.db import models


class Job(models.Model):
    """One unit of work: a poll, backfill, action, webhook, resync or Rankr event.

    The job row, not django-q2, decides retries: a transient HighLevel failure puts the job back
    in the queue with a backoff (``next_attempt_at``); a permanent one fails it for a person to
    look at; exhausted retries make it dead. A re-run keeps the same row and idempotency key, so
    a handler can see what its earlier attempt already did (``result``) and create nothing twice.
    """

    class Kind(models.TextChoices):
        POLL = "poll", "poll"
        BACKFILL = "backfill", "backfill"
        ACTION = "action", "action"
        WEBHOOK = "webhook", "webhook"
        RESYNC = "resync", "resync"
        RANKR_EVENT = "rankr_event", "Rankr event"

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        DEAD = "dead", "dead (retries exhausted)"

    kind = models.CharField("kind", max_length=16, choices=Kind.choices, db_index=True)
    status = models.CharField(
        "status", max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    location = models.ForeignKey(
        "portal.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs",
        verbose_name="location",
    )
    connection = models.ForeignKey(
        "integrations.Connection", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="jobs", verbose_name="connection",
    )
    operation = models.CharField(
        "operation", max_length=300, blank=True, help_text='Catalog key, e.g. "POST /contacts/".'
    )
    subject = models.CharField(
        "subject", max_length=200, blank=True, db_index=True,
        help_text="What the job is about: a HighLevel id, a subscription, a Rankr record.",
    )
    params = models.JSONField("input", default=dict, blank=True, help_text="Ids and parameters; never secrets.")
    result = models.JSONField(
        "result", default=dict, blank=True,
        help_text="What the job achieved so far (e.g. the HighLevel id it created).",
    )
    idempotency_key = models.CharField("idempotency key", max_length=200, unique=True)
    mapping_version_id = models.BigIntegerField("mapping version", null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("attempts", default=0)
    max_attempts = models.PositiveSmallIntegerField("max attempts", default=5)
    reruns = models.PositiveSmallIntegerField("re-runs", default=0)
    queued_at = models.DateTimeField("queued", auto_now_add=True)
    next_attempt_at = models.DateTimeField("next attempt", null=True, blank=True)
    started_at = models.DateTimeField("started", null=True, blank=True)
    finished_at = models.DateTimeField("finished", null=True, blank=True)
    lease_until = models.DateTimeField(
        "lease until", null=True, blank=True,
        help_text="A running job whose lease passed is taken to have died with its worker.",
    )
    error_class = models.CharField("error class", max_length=100, blank=True)
    error_message = models.TextField("error", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name="started by",
    )

    class Meta:
        verbose_name = "job"
        ordering = ["-queued_at", "-id"]
        permissions = [("rerun_job", "Can re-run failed jobs"), ("export_job", "Can export jobs as CSV")]
        indexes = [
            models.Index(fields=["-queued_at", "-id"], name="job_recent"),
            models.Index(fields=["status", "-queued_at"], name="job_status_recent"),
            models.Index(fields=["location", "-queued_at"], name="job_location_recent"),
            models.Index(fields=["kind", "-queued_at"], name="job_kind_recent"),
            models.Index(fields=["status", "next_attempt_at"], name="job_due"),
            models.Index(fields=["operation", "-queued_at"], name="job_operation_recent"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"
