from django.conf import settings
from django.db import models


class Job(models.Model):
    """One unit of work: a poll, backfill, action, webhook, resync, Rankr event, connection batch,
    verification, location refresh or erasure.

    The job row, not django-q2, decides retries: a transient HighLevel failure puts the job back
    in the queue with a backoff (``next_attempt_at``); a permanent one fails it for a person to
    look at; exhausted retries make it dead. A re-run keeps the same row and idempotency key, so
    a handler can see what its earlier attempt already did (``result``) and create nothing twice.
    Each run is a :class:`JobAttempt`; the job's status and error are its latest attempt's.
    """

    class Kind(models.TextChoices):
        POLL = "poll", "poll"
        BACKFILL = "backfill", "backfill"
        ACTION = "action", "action"
        WEBHOOK = "webhook", "webhook"
        RESYNC = "resync", "resync"
        RANKR_EVENT = "rankr_event", "Rankr event"
        MINT = "mint", "location connection batch"
        VERIFY = "verify", "verification"
        LOCATION = "location", "location details from HighLevel"
        ERASE = "erase", "personal data erasure"

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        DEAD = "dead", "dead (retries exhausted)"
        SKIPPED = "skipped", "skipped (another run holds the work)"

    kind = models.CharField("kind", max_length=16, choices=Kind.choices, db_index=True)
    status = models.CharField(
        "status", max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    location = models.ForeignKey(
        "portal.Location",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        verbose_name="location",
    )
    connection = models.ForeignKey(
        "integrations.Connection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        verbose_name="connection",
    )
    operation = models.CharField(
        "operation", max_length=300, blank=True, help_text='Catalog key, e.g. "POST /contacts/".'
    )
    subject = models.CharField(
        "subject",
        max_length=200,
        blank=True,
        db_index=True,
        help_text="What the job is about: a HighLevel id, a subscription, a Rankr record.",
    )
    params = models.JSONField(
        "input", default=dict, blank=True, help_text="Ids and parameters; never secrets."
    )
    result = models.JSONField(
        "result",
        default=dict,
        blank=True,
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
        "lease until",
        null=True,
        blank=True,
        help_text="On the database's clock. A running job's worker renews it every heartbeat; a "
        "running job whose lease passed is taken to have died with its worker.",
    )
    lease_token = models.PositiveBigIntegerField(
        "fencing token",
        default=0,
        db_default=0,  # the previous release's workers insert jobs without it
        help_text="Raised by every claim; a checkpoint or result write carrying an older token "
        "(a worker that lost its lease) is refused.",
    )
    sent_at = models.DateTimeField(
        "sent to the queue",
        null=True,
        blank=True,
        help_text="When the job was last handed to the broker (empty: never, e.g. the broker was down).",
    )
    superseded_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="superseded by",
        help_text="The job that held the work when this one was skipped.",
    )
    error_class = models.CharField("error class", max_length=100, blank=True)
    error_message = models.TextField("error", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="started by",
    )

    class Meta:
        verbose_name = "job"
        ordering = ["-queued_at", "-id"]
        permissions = [
            ("rerun_job", "Can re-run failed jobs"),
            ("export_job", "Can export jobs as CSV"),
        ]
        indexes = [
            models.Index(fields=["-queued_at", "-id"], name="job_recent"),
            models.Index(fields=["status", "-queued_at"], name="job_status_recent"),
            models.Index(fields=["location", "-queued_at"], name="job_location_recent"),
            models.Index(fields=["kind", "-queued_at"], name="job_kind_recent"),
            models.Index(fields=["status", "next_attempt_at"], name="job_due"),
            models.Index(fields=["operation", "-queued_at"], name="job_operation_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"


class JobAttempt(models.Model):
    """One run of a job, on record: a re-run adds an attempt, nothing is rewritten.

    Opened when a worker claims the job (with the claim's fencing token) and closed with its
    outcome; an attempt whose worker vanished is closed by the recovery as *worker lost*.
    """

    class Outcome(models.TextChoices):
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        SKIPPED = "skipped", "skipped"
        WORKER_LOST = "worker_lost", "worker lost"

    job = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="attempt_rows", verbose_name="job"
    )
    number = models.PositiveIntegerField("attempt", help_text="1 for the job's first run, and on.")
    lease_token = models.PositiveBigIntegerField("fencing token")
    worker = models.CharField(
        "worker", max_length=200, blank=True, help_text="host:pid of the process that ran it."
    )
    started_at = models.DateTimeField("started", help_text="On the database's clock.")
    ended_at = models.DateTimeField("ended", null=True, blank=True)
    outcome = models.CharField(
        "outcome", max_length=12, choices=Outcome.choices, default=Outcome.RUNNING, db_index=True
    )
    error_class = models.CharField("error class", max_length=100, blank=True)
    error_message = models.TextField("error", blank=True)
    permanent = models.BooleanField(
        "permanent error",
        default=False,
        help_text="The error will not go away by itself: running it again unchanged fails again.",
    )
    retry_at = models.DateTimeField(
        "retry at", null=True, blank=True, help_text="When a transient failure is tried again."
    )
    superseded_by = models.ForeignKey(
        Job,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="superseded by",
        help_text="The job that held the work (skipped attempts).",
    )
    trace_id = models.CharField(
        "trace id",
        max_length=100,
        blank=True,
        help_text="HighLevel's trace id of the call that failed, if any.",
    )

    class Meta:
        verbose_name = "job attempt"
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="job_attempt_once")]
        indexes = [
            models.Index(fields=["outcome", "-started_at"], name="job_attempt_outcome_recent")
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} attempt {self.number} ({self.outcome})"
