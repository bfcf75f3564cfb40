"""Rankr's side of every sync: the records HighLevel data is mapped into (and out of).

Every record belongs to a location and carries its HighLevel id, unique per location and kind
(one table per kind, so the per-table constraint on (location, ghl_id) is that rule). The
``fingerprint`` is a hash of the HighLevel data last applied, so a sync skips unchanged records;
``deleted_at`` marks a record HighLevel deleted (kept, not removed, so history and links survive).
"""

from typing import TYPE_CHECKING, ClassVar, Self

from django.db import models
from django.db.models.expressions import Combinable

from portal.models import Location

CUSTOM_FIELD_SLOTS = 10


class RankrRecord(models.Model):
    """Fields every Rankr record has. ``MAPPED_FIELDS`` are the ones a mapping may write.

    ``PERSONAL_FIELDS``: the fields that hold a person's data (names, e-mail, phone, free text
    about them); erasure (``integrations.sync.erasure``) empties them and keeps the row.
    ``IDENTITY_FIELDS``: those by which a person is found (e-mail, phone).
    """

    KIND = ""
    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ()
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ()

    location = models.ForeignKey(
        Location,
        # Records are a copy of the location's HighLevel data: they go with the location.
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="location",
        db_index=False,  # the unique (location, ghl_id) index leads with it
    )
    # NULL, not "", so the unique (location, ghl_id) constraint allows many unsent records.
    ghl_id = models.CharField(  # noqa: DJ001
        "HighLevel id",
        max_length=64,
        null=True,
        blank=True,
        help_text="The record's id in HighLevel; empty until a Rankr-created record reaches it.",
    )
    fingerprint = models.CharField(
        "fingerprint",
        max_length=64,
        blank=True,
        help_text="SHA-256 of the HighLevel data last applied; unchanged data is skipped.",
    )
    created_at = models.DateTimeField("created", auto_now_add=True)
    updated_at = models.DateTimeField("updated", auto_now=True)
    deleted_at = models.DateTimeField(
        "deleted in HighLevel",
        null=True,
        blank=True,
        db_index=True,
        help_text="When Rankr learnt HighLevel deleted it. The row is kept as a tombstone: only a "
        "version newer than the deletion revives it.",
    )
    source_changed_at = models.DateTimeField(
        "HighLevel version time",
        null=True,
        blank=True,
        help_text="HighLevel's time of the version held (the record's modification time, else the "
        "event's) or of its deletion: an older version arriving later is not applied.",
    )
    source_tiebreak = models.CharField(
        "version tie-break",
        max_length=64,
        blank=True,
        default="",
        db_default="",  # the previous release's workers insert records without it
        help_text="Orders two versions with the same time the same way whatever order they "
        "arrive in (a hash of the version; a deletion sorts last).",
    )

    class Meta:
        abstract = True
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "ghl_id"], name="%(app_label)s_%(class)s_unique_ghl_id"
            ),
        ]

    if TYPE_CHECKING:  # every concrete record model has Django's default manager
        objects: ClassVar[models.Manager[Self]]

    @classmethod
    def mapped_field_names(cls) -> list[str]:
        return [
            f.name
            for f in cls._meta.concrete_fields
            if f.name not in ("id", "location", "ghl_id", "fingerprint")
            and f.name not in ("created_at", "updated_at", "deleted_at")
            and f.name not in ("source_changed_at", "source_tiebreak")
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.ghl_id or self.pk}"


def _custom_slot(number: int) -> "models.TextField[str | Combinable, str]":
    return models.TextField(
        f"custom field {number}",
        blank=True,
        help_text="A custom-field slot; which HighLevel custom field fills it is set by the mapping.",
    )


class Contact(RankrRecord):
    KIND = "contact"
    # The custom slots hold whatever the mapping puts there (birth dates, addresses...).
    PERSONAL_FIELDS = (
        "email",
        "first_name",
        "last_name",
        "phone",
        "company",
        *(f"custom_{n}" for n in range(1, CUSTOM_FIELD_SLOTS + 1)),
    )
    IDENTITY_FIELDS = ("email", "phone")

    email = models.EmailField("email", max_length=254, blank=True, db_index=True)
    first_name = models.CharField("first name", max_length=200, blank=True)
    last_name = models.CharField("last name", max_length=200, blank=True)
    phone = models.CharField(
        "phone", max_length=32, blank=True, help_text="E.164, e.g. +14155550100."
    )
    company = models.CharField("company", max_length=200, blank=True)
    tags = models.JSONField("tags", default=list, blank=True, help_text="A list of tag names.")
    source = models.CharField("source", max_length=200, blank=True)
    custom_1 = _custom_slot(1)
    custom_2 = _custom_slot(2)
    custom_3 = _custom_slot(3)
    custom_4 = _custom_slot(4)
    custom_5 = _custom_slot(5)
    custom_6 = _custom_slot(6)
    custom_7 = _custom_slot(7)
    custom_8 = _custom_slot(8)
    custom_9 = _custom_slot(9)
    custom_10 = _custom_slot(10)

    class Meta(RankrRecord.Meta):
        verbose_name = "contact"
        permissions = [
            ("resync_contact", "Can resync contacts from HighLevel"),
            ("erase_contact", "Can erase a person's personal data (on request)"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or super().__str__()


class Task(RankrRecord):
    KIND = "task"
    PERSONAL_FIELDS = ("title", "description")
    STATUS_OPEN = "open"
    STATUS_COMPLETED = "completed"

    contact_ghl_id = models.CharField(
        "HighLevel contact id", max_length=64, blank=True, help_text="The contact the task is on."
    )
    title = models.CharField("title", max_length=500, blank=True)
    description = models.TextField("description", blank=True)
    due_date = models.DateTimeField("due", null=True, blank=True)
    status = models.CharField(
        "status",
        max_length=16,
        default=STATUS_OPEN,
        choices=[(STATUS_OPEN, "Open"), (STATUS_COMPLETED, "Completed")],
    )

    class Meta(RankrRecord.Meta):
        verbose_name = "task"

    def __str__(self) -> str:
        return self.title or super().__str__()


class Note(RankrRecord):
    KIND = "note"
    PERSONAL_FIELDS = ("title", "content")

    contact_ghl_id = models.CharField("HighLevel contact id", max_length=64, blank=True)
    title = models.CharField("title", max_length=500, blank=True)
    content = models.TextField("content", blank=True)
    noted_at = models.DateTimeField("date", null=True, blank=True, help_text="When it was added.")

    class Meta(RankrRecord.Meta):
        verbose_name = "note"


class Appointment(RankrRecord):
    KIND = "appointment"
    PERSONAL_FIELDS = ("title",)

    contact_ghl_id = models.CharField("HighLevel contact id", max_length=64, blank=True)
    calendar_ghl_id = models.CharField("HighLevel calendar id", max_length=64, blank=True)
    title = models.CharField("title", max_length=500, blank=True)
    status = models.CharField(
        "status", max_length=32, blank=True, help_text="As HighLevel says, e.g. confirmed."
    )
    starts_at = models.DateTimeField("starts", null=True, blank=True)
    ends_at = models.DateTimeField("ends", null=True, blank=True)

    class Meta(RankrRecord.Meta):
        verbose_name = "appointment"

    def __str__(self) -> str:
        return self.title or super().__str__()


class RankrUser(RankrRecord):
    """A user of Rankr (not a portal login), mirrored as a HighLevel user."""

    KIND = "user"
    PERSONAL_FIELDS = ("email", "full_name")
    IDENTITY_FIELDS = ("email",)

    email = models.EmailField("email", max_length=254, blank=True, db_index=True)
    full_name = models.CharField("full name", max_length=300, blank=True)
    role = models.CharField("role", max_length=32, blank=True, help_text="e.g. admin or user.")

    class Meta(RankrRecord.Meta):
        verbose_name = "Rankr user"

    def __str__(self) -> str:
        return self.full_name or self.email or super().__str__()


class Opportunity(RankrRecord):
    KIND = "opportunity"
    PERSONAL_FIELDS = ("name",)

    name = models.CharField("name", max_length=500, blank=True)
    contact_ghl_id = models.CharField("HighLevel contact id", max_length=64, blank=True)
    pipeline_ghl_id = models.CharField("HighLevel pipeline id", max_length=64, blank=True)
    stage_ghl_id = models.CharField("HighLevel stage id", max_length=64, blank=True)
    status = models.CharField("status", max_length=32, blank=True, help_text="open, won, lost…")
    monetary_value = models.DecimalField(
        "monetary value", max_digits=14, decimal_places=2, null=True, blank=True
    )

    class Meta(RankrRecord.Meta):
        verbose_name = "opportunity"
        verbose_name_plural = "opportunities"

    def __str__(self) -> str:
        return self.name or super().__str__()


class SocialTag(RankrRecord):
    KIND = "social_tag"

    name = models.CharField("tag name", max_length=300, blank=True)
    tagged_at = models.DateTimeField(
        "timestamp", null=True, blank=True, help_text="HighLevel's last change of the tag."
    )

    class Meta(RankrRecord.Meta):
        verbose_name = "social tag"

    def __str__(self) -> str:
        return self.name or super().__str__()


class SocialTagDetail(RankrRecord):
    """Details of a social tag (HighLevel id = the tag id)."""

    KIND = "social_tag_detail"

    name = models.CharField("tag name", max_length=300, blank=True)
    details = models.JSONField("details", default=dict, blank=True)

    class Meta(RankrRecord.Meta):
        verbose_name = "social tag detail"


class PostStatistic(RankrRecord):
    """Statistics of a published social post (HighLevel id = the post id)."""

    KIND = "post_statistic"

    metrics = models.JSONField(
        "metrics", default=dict, blank=True, help_text="Likes, impressions, comments and so on."
    )
    measured_at = models.DateTimeField("measured", null=True, blank=True)

    class Meta(RankrRecord.Meta):
        verbose_name = "post statistic"


class Workflow(RankrRecord):
    KIND = "workflow"

    name = models.CharField("name", max_length=300, blank=True)
    status = models.CharField("status", max_length=32, blank=True, help_text="draft or published.")
    automation_status = models.CharField(
        "Rankr automation status",
        max_length=32,
        blank=True,
        help_text="What Rankr's automation made of the workflow last time it ran.",
    )

    class Meta(RankrRecord.Meta):
        verbose_name = "workflow"


# kind -> model: the one registry of Rankr record kinds.
RECORD_MODELS: dict[str, type[RankrRecord]] = {
    model.KIND: model
    for model in (
        Contact,
        Task,
        Note,
        Appointment,
        RankrUser,
        Opportunity,
        SocialTag,
        SocialTagDetail,
        PostStatistic,
        Workflow,
    )
}


class RecordChange(models.Model):
    """One write of a Rankr record by the sync: what changed, by which job, under which mapping.

    Append-only history for the record's page. ``changes`` holds ``{field: [before, after]}`` for
    the fields that changed (values cut to a few hundred characters); a created record has every
    written field with ``before`` empty.
    """

    class Action(models.TextChoices):
        CREATED = "created", "created"
        UPDATED = "updated", "updated"
        DELETED = "deleted", "deleted in HighLevel"

    at = models.DateTimeField("when", auto_now_add=True)
    location = models.ForeignKey(
        Location,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="location",
        db_index=False,  # the recordchange_record index leads with it
    )
    kind = models.CharField("kind", max_length=32, help_text="The Rankr record kind, e.g. contact.")
    ghl_id = models.CharField("HighLevel id", max_length=64)
    action = models.CharField("action", max_length=16, choices=Action.choices)
    changes = models.JSONField("what changed", default=dict, blank=True)
    job_id = models.BigIntegerField(
        "job", null=True, blank=True, help_text="The job that wrote it."
    )
    mapping_version_id = models.BigIntegerField(
        "mapping version", null=True, blank=True, help_text="The mapping version applied."
    )

    class Meta:
        verbose_name = "record change"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["location", "kind", "ghl_id", "-at"], name="recordchange_record"),
            models.Index(fields=["-at"], name="recordchange_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.ghl_id} {self.action}"
