from django.db import models


class SyncLog(models.Model):
    """One HTTP attempt to HighLevel. Append-only; secrets are stripped before writing.

    The metadata is always kept; the bodies only for failures and a sample of successes
    (``SYNC_LOG_BODY_SAMPLE``), with secrets and personal data masked.
    """

    # Indexed only by the composite indexes below: each leads with the column a single-column
    # index would cover (a sync log is the biggest table; every index is bytes per call).
    at = models.DateTimeField("when", auto_now_add=True)
    connection = models.ForeignKey(
        "integrations.Connection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sync_logs",
        verbose_name="connection",
        db_index=False,  # synclog_conn_at
    )
    location = models.ForeignKey(
        "portal.Location",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="location",
        db_index=False,  # synclog_location_recent
    )
    operation_id = models.CharField("operation", max_length=120, blank=True)
    method = models.CharField("method", max_length=8)
    path = models.CharField(
        "path", max_length=1000, help_text="Secrets in the query string are replaced by ***."
    )
    status = models.PositiveSmallIntegerField(
        "HTTP status",
        null=True,
        blank=True,
        help_text="Empty when no answer came (timeout, reset).",
    )
    error = models.CharField("error", max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField("duration (ms)", default=0)
    attempt = models.PositiveSmallIntegerField("attempt", default=1)
    trace_id = models.CharField("trace id", max_length=100, blank=True)  # synclog_trace
    job_id = models.BigIntegerField(
        "job", null=True, blank=True, db_index=True, help_text="The job this call belongs to."
    )
    job_attempt_id = models.BigIntegerField(
        "job attempt", null=True, blank=True, help_text="The run of the job this call belongs to."
    )
    record_ids = models.CharField(
        "record ids",
        max_length=300,
        blank=True,
        db_default="",  # the previous release's workers insert rows without it
        help_text="The HighLevel ids the request's path names (besides the location's).",
    )
    request_bytes = models.PositiveIntegerField("request size (bytes)", default=0, db_default=0)
    response_bytes = models.PositiveIntegerField("response size (bytes)", default=0, db_default=0)
    request_summary = models.TextField(
        "request (redacted)",
        blank=True,
        help_text="Kept for failures and a sample of successes; personal data masked.",
    )
    response_summary = models.TextField("response (redacted)", blank=True)

    class Meta:
        verbose_name = "sync log entry"
        verbose_name_plural = "sync log"
        ordering = ["-at", "-id"]
        permissions = [("export_synclog", "Can export the sync log as CSV")]
        # One per list filter, each ending in the list's order, so a filtered first page reads
        # 100 index entries rather than sorting every match.
        indexes = [
            models.Index(fields=["connection", "-at"], name="synclog_conn_at"),
            models.Index(fields=["-at", "-id"], name="synclog_recent"),
            models.Index(fields=["location", "-at"], name="synclog_location_recent"),
            models.Index(fields=["status", "-at"], name="synclog_status_recent"),
            models.Index(fields=["operation_id", "-at"], name="synclog_operation_recent"),
            # Exact lookups only (no LIKE companion index, as db_index makes on PostgreSQL).
            models.Index(fields=["trace_id"], name="synclog_trace"),
        ]

    def __str__(self) -> str:
        from portal.redact import path_redact

        return f"{self.method} {path_redact(self.path)} → {self.status or self.error}"
