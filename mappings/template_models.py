"""Agency templates: a mapping defined once per agency, inherited by its locations.

A location's ``Mapping`` that follows a template keeps the template version it runs
(``template_version``) and its own ``overrides``; its rules are the effective result of the two,
saved as ordinary ``MappingVersion``s. A ``Rollout`` moves locations from one template version
to another in stages, and can roll them back.
"""

from typing import Any

from django.conf import settings
from django.db import models

from mappings.entities import DIRECTIONS, entity_choices
from mappings.rules import NULL_POLICIES, NULL_SKIP
from portal.models import Agency


class MappingTemplate(models.Model):
    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="mapping_templates", verbose_name="agency"
    )
    name = models.CharField("name", max_length=200)
    entity = models.CharField("entity", max_length=32, choices=entity_choices)
    direction = models.CharField("direction", max_length=16, choices=DIRECTIONS)
    operation_key = models.CharField(
        "HighLevel operation",
        max_length=200,
        blank=True,
        help_text='The HighLevel operation the flow uses, as "METHOD /path".',
    )
    null_policy = models.CharField(
        "null policy",
        max_length=16,
        choices=NULL_POLICIES,
        default=NULL_SKIP,
        help_text="What a rule does with a missing or empty value, unless the rule says otherwise.",
    )
    rules = models.JSONField(
        "rules",
        default=list,
        blank=True,
        help_text="The template's rules. Saving makes a new template version; locations get it "
        "only through a rollout.",
    )
    created_at = models.DateTimeField("created", auto_now_add=True)
    updated_at = models.DateTimeField("updated", auto_now=True)

    class Meta:
        verbose_name = "agency mapping template"
        ordering = ["agency__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "entity", "direction", "operation_key"],
                name="mappings_template_unique_flow",
                violation_error_message="This agency already has a template for this entity, "
                "direction and operation.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MappingTemplateVersion(models.Model):
    """A template's rules as saved; never changed afterwards."""

    template = models.ForeignKey(
        MappingTemplate, on_delete=models.CASCADE, related_name="versions", verbose_name="template"
    )
    number = models.PositiveIntegerField("version")
    null_policy = models.CharField("null policy", max_length=16, choices=NULL_POLICIES)
    rules = models.JSONField("rules")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="saved by",
    )
    created_at = models.DateTimeField("saved", auto_now_add=True)

    class Meta:
        verbose_name = "agency template version"
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "number"], name="mappings_templateversion_unique_number"
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Template versions are immutable; save the template to make one.")
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"


class Rollout(models.Model):
    """One template version going out: first to chosen locations, then to all, or rolled back."""

    class Status(models.TextChoices):
        STAGED = "staged", "Staged (chosen locations only)"
        COMPLETE = "complete", "Rolled out everywhere"
        ROLLED_BACK = "rolled_back", "Rolled back"

    template = models.ForeignKey(
        MappingTemplate, on_delete=models.CASCADE, related_name="rollouts", verbose_name="template"
    )
    version = models.ForeignKey(
        MappingTemplateVersion,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="version rolled out",
    )
    status = models.CharField(
        "status", max_length=16, choices=Status.choices, default=Status.STAGED
    )
    # {mapping id (text): template version id it ran before (null: none)}, for every mapping
    # moved so far; rollback puts each back.
    previous = models.JSONField("previous versions", default=dict, blank=True)
    staged_location_ids = models.JSONField(
        "first locations",
        default=list,
        blank=True,
        help_text="The locations chosen to get the version first.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="started by",
    )
    created_at = models.DateTimeField("started", auto_now_add=True)
    updated_at = models.DateTimeField("updated", auto_now=True)

    class Meta:
        verbose_name = "template rollout"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.version} ({self.get_status_display()})"


class SourcePayload(models.Model):
    """The last raw HighLevel payload of each record, one row per record, replaced when the
    record changes and removed when it is deleted: a template change is previewed on it, and a
    new mapping version re-applied to it, without spending API budget
    (``integrations.sync.payloads``)."""

    location = models.ForeignKey(
        "portal.Location",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="location",
        db_index=False,  # the unique (location, entity, ghl_id) index leads with it
    )
    entity = models.CharField("entity", max_length=32, choices=entity_choices)
    ghl_id = models.CharField("HighLevel id", max_length=64)
    payload = models.JSONField("payload")
    fingerprint = models.CharField(
        "fingerprint",
        max_length=64,
        blank=True,
        db_default="",  # the previous release's writers leave it out
        help_text="Of the payload: unchanged, not written.",
    )
    seen_at = models.DateTimeField("fetched", auto_now=True, db_index=True)

    class Meta:
        verbose_name = "synced HighLevel payload"
        constraints = [
            models.UniqueConstraint(
                fields=["location", "entity", "ghl_id"], name="mappings_sourcepayload_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.ghl_id}"
