"""Polling subscriptions: a location's connection polling one catalog trigger into Rankr.

One row per subscription holds its configuration (trigger, parameters, interval, mapping), its
schedule (``next_run_at``, the dispatcher's lease) and its checkpoint (``cursor``): the request
for the next page of the pass in progress, committed in the same transaction as the page's
records, so a run killed midway resumes where it stopped. No django-q2 schedule per row: the
one "portal tick" dispatches every due subscription (``integrations.sync.subscriptions``).
"""

from datetime import datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from integrations.catalog.named import TRIGGER, named_all

INTERVAL_MIN, INTERVAL_MAX = 1, 15


def trigger_choices() -> list[tuple[str, str]]:
    return [(n.name, f"{n.name} ({n.key})") for n in named_all() if n.kind == TRIGGER]


class Subscription(models.Model):
    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "succeeded"
        PARTIAL = "partial", "succeeded; some records could not be mapped"
        FAILED = "failed", "failed"
        SUPERSEDED = "superseded", "stopped: another run took over"

    location = models.ForeignKey(
        "portal.Location",
        on_delete=models.CASCADE,
        related_name="subscriptions",
        verbose_name="location",
    )
    connection = models.ForeignKey(
        "integrations.Connection",
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name="connection",
        help_text="The location's HighLevel connection it polls through.",
    )
    trigger = models.CharField(
        "polling trigger",
        max_length=100,
        choices=trigger_choices,
        help_text="The catalog's named polling trigger.",
    )
    operation = models.CharField(
        "operation",
        max_length=300,
        editable=False,
        help_text='The trigger\'s catalog key, "METHOD /path" (filled in from the trigger).',
    )
    parameters = models.JSONField(
        "parameters",
        default=dict,
        blank=True,
        help_text="The trigger's own parameters as a JSON object (the connection fills in "
        "locationId).",
    )
    interval_minutes = models.PositiveSmallIntegerField(
        "interval (minutes)",
        default=5,
        validators=[MinValueValidator(INTERVAL_MIN), MaxValueValidator(INTERVAL_MAX)],
        help_text=f"How often it polls: {INTERVAL_MIN} to {INTERVAL_MAX} minutes.",
    )
    mapping = models.ForeignKey(
        "mappings.Mapping",
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name="mapping",
        help_text="A HighLevel → Rankr mapping of this location.",
    )
    plan = models.CharField(
        "location-wide plan",
        max_length=32,
        blank=True,
        default="",
        db_default="",  # the previous release inserts subscriptions without it
        help_text="The entity whose location-wide plan this subscription runs (one per location "
        "and entity, shared by the flows that use it); empty: the trigger's own pass.",
    )
    enabled = models.BooleanField("enabled", default=True)
    paused = models.BooleanField(
        "paused", default=False, help_text="Paused subscriptions keep their checkpoint and wait."
    )
    reconcile_deletions = models.BooleanField(
        "reconcile deletions",
        default=True,
        help_text="After a full pass, soft-delete the location's Rankr records of this entity that "
        "HighLevel no longer lists. Turn off when the parameters filter the list.",
    )

    # Schedule and lease.
    next_run_at = models.DateTimeField("next run", null=True, blank=True, help_text="Empty: now.")
    claimed_until = models.DateTimeField(
        "claimed until",
        null=True,
        blank=True,
        help_text="A run holds the subscription until then; nothing else runs it meanwhile.",
    )
    claimed_job = models.ForeignKey(
        "integrations.Job",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="running job",
    )

    # Checkpoint.
    cursor = models.JSONField(
        "checkpoint",
        default=dict,
        blank=True,
        help_text="The pass in progress: the next page's request, its kind, its high-water mark.",
    )
    watermark = models.CharField(
        "high-water mark",
        max_length=64,
        blank=True,
        help_text="The newest modification time seen in the last finished pass.",
    )
    full_pass_requested = models.BooleanField(
        "backfill requested", default=False, help_text="The next run pages through everything."
    )

    # Backfill progress (the first run, and every full pass).
    backfill_started_at = models.DateTimeField("backfill started", null=True, blank=True)
    backfill_finished_at = models.DateTimeField("backfill finished", null=True, blank=True)
    backfill_pages = models.PositiveIntegerField("backfill pages", default=0)
    backfill_records = models.PositiveIntegerField("backfill records", default=0)
    backfill_total = models.PositiveIntegerField(
        "records expected", null=True, blank=True, help_text="HighLevel's total, when it says."
    )

    # Last run.
    last_run_at = models.DateTimeField("last run", null=True, blank=True)
    last_run_outcome = models.CharField(
        "last outcome", max_length=16, choices=Outcome.choices, blank=True
    )
    last_run_requests = models.PositiveIntegerField("requests in last run", default=0)
    last_run_records = models.PositiveIntegerField("records in last run", default=0)
    last_run_changed = models.PositiveIntegerField(
        "records written in last run", default=0, help_text="Created or updated (not unchanged)."
    )
    last_run_error = models.TextField("last error", blank=True)
    last_success_at = models.DateTimeField("last success", null=True, blank=True)
    created_at = models.DateTimeField("created", auto_now_add=True)
    updated_at = models.DateTimeField("updated", auto_now=True)

    class Meta:
        verbose_name = "polling subscription"
        ordering = ["location__name", "trigger"]
        permissions = [("run_subscription", "Can run, backfill, pause and resume subscriptions")]
        constraints = [
            models.CheckConstraint(
                condition=Q(interval_minutes__gte=INTERVAL_MIN, interval_minutes__lte=INTERVAL_MAX),
                name="integrations_subscription_interval_range",
            ),
            models.UniqueConstraint(
                fields=["location", "plan"],
                condition=~Q(plan=""),
                name="integrations_one_plan_per_location_entity",
            ),
        ]
        indexes = [
            models.Index(fields=["enabled", "paused", "next_run_at"], name="subscription_due")
        ]

    def __str__(self) -> str:
        return f"{self.trigger} for {self.location}"

    # Progress as the admin and the backfill command show it.
    def backfill_elapsed_s(self, now: datetime) -> float:
        if not self.backfill_started_at:
            return 0.0
        end = self.backfill_finished_at or now
        return max((end - self.backfill_started_at).total_seconds(), 0.0)

    def backfill_rate(self, now: datetime) -> float | None:
        """Records per second so far (None before the first page)."""
        elapsed = self.backfill_elapsed_s(now)
        return self.backfill_records / elapsed if elapsed > 0 and self.backfill_records else None

    def backfill_eta_s(self, now: datetime) -> float | None:
        rate = self.backfill_rate(now)
        if self.backfill_finished_at or not rate or not self.backfill_total:
            return None
        return max(self.backfill_total - self.backfill_records, 0) / rate


class SubscriptionSeen(models.Model):
    """HighLevel ids listed during a subscription's full pass in progress (for deletions).

    Kept in the database, not memory, so a pass resumed after a crash still knows what it saw.
    Emptied when the pass starts and when it finishes.
    """

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="subscription",
        db_index=False,  # the unique (subscription, ghl_id) index leads with it
    )
    ghl_id = models.CharField("HighLevel id", max_length=64)

    class Meta:
        verbose_name = "record seen in a full pass"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "ghl_id"], name="subscription_seen_once"
            )
        ]

    def __str__(self) -> str:
        return self.ghl_id


class EntityCoverage(models.Model):
    """How completely one location's copy of one entity is confirmed against HighLevel.

    The reconciliation walk of a location-wide plan visits every parent (every contact for notes,
    every page of tasks, every calendar's horizon for appointments) over its window; when a walk
    ends, every record it did not see is gone from HighLevel, and ``last_full_pass_at`` (the
    walk's start: every record was confirmed at or after it) moves on. *Coverage age* is how long
    ago that was. The walk in progress is ``walk_started_at`` and ``walk_cursor``.
    """

    location = models.ForeignKey(
        "portal.Location", on_delete=models.CASCADE, related_name="+", verbose_name="location"
    )
    entity = models.CharField("entity", max_length=32)
    last_full_pass_at = models.DateTimeField(
        "every record confirmed since",
        null=True,
        blank=True,
        help_text="The start of the last complete reconciliation walk (empty: none yet).",
    )
    last_full_pass_records = models.PositiveIntegerField("records in the last walk", default=0)
    last_full_pass_requests = models.PositiveIntegerField("requests of the last walk", default=0)
    last_full_pass_deleted = models.PositiveIntegerField(
        "deletions found by the last walk", default=0
    )
    walk_started_at = models.DateTimeField("walk in progress since", null=True, blank=True)
    walk_cursor = models.JSONField(
        "walk position", default=dict, blank=True, help_text="Where the walk in progress is."
    )
    walk_requests = models.PositiveIntegerField("requests of the walk in progress", default=0)
    window_s = models.PositiveIntegerField(
        "reconciliation window (s)",
        default=0,
        help_text="How long one complete walk is paced over (from the location's size and budget).",
    )
    updated_at = models.DateTimeField("updated", auto_now=True)

    class Meta:
        verbose_name = "entity coverage"
        verbose_name_plural = "entity coverage"
        ordering = ["location_id", "entity"]
        constraints = [
            models.UniqueConstraint(fields=["location", "entity"], name="entity_coverage_once")
        ]

    def __str__(self) -> str:
        return f"{self.entity} at {self.location_id}"

    def age_s(self, now: datetime) -> float | None:
        """Seconds since every record was last confirmed (None: never)."""
        if self.last_full_pass_at is None:
            return None
        return max((now - self.last_full_pass_at).total_seconds(), 0.0)
