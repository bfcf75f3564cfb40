"""Mappings: how one entity's fields go between HighLevel and Rankr at a location.

A ``Mapping`` holds the rules being edited; every saved change is snapshotted into an immutable
``MappingVersion``, which is what the sync applies and what log entries name.
"""

from typing import Any

from django.conf import settings
from django.db import models

from mappings.entities import DIRECTIONS, entity_choices
from mappings.rules import NULL_POLICIES, NULL_SKIP
from portal.models import Location


class Mapping(models.Model):
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="+", verbose_name="location"
    )
    name = models.CharField("name", max_length=200)
    entity = models.CharField("entity", max_length=32, choices=entity_choices)
    direction = models.CharField("direction", max_length=16, choices=DIRECTIONS)
    operation_key = models.CharField(
        "HighLevel operation",
        max_length=200,
        blank=True,
        help_text='The HighLevel operation the flow uses, as "METHOD /path", '
        "e.g. GET /contacts/{contactId}.",
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
        help_text="The ordered field rules, a JSON list; see the rule reference below the form.",
    )
    template_key = models.CharField(
        "template", max_length=64, blank=True, help_text="The template it was made from, if any."
    )
    agency_template = models.ForeignKey(
        "mappings.MappingTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mappings",
        verbose_name="agency template",
        help_text="The agency template this location's mapping follows, if any.",
    )
    template_version = models.ForeignKey(
        "mappings.MappingTemplateVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="template version",
        help_text="The template version this location runs (changed by rollouts).",
    )
    overrides = models.JSONField(
        "overrides",
        default=dict,
        db_default={},  # the previous release's workers insert mappings without it
        blank=True,
        help_text="This location's own rules over the template's, by target field: a rule "
        "replaces the template's rule for that field (or adds one); null drops it here.",
    )
    created_at = models.DateTimeField("created", auto_now_add=True)
    updated_at = models.DateTimeField("updated", auto_now=True)

    class Meta:
        verbose_name = "mapping"
        ordering = ["location__name", "entity", "direction"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "entity", "direction", "operation_key"],
                name="mappings_mapping_unique_flow",
                violation_error_message="This location already has a mapping for this entity, "
                "direction and operation.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MappingVersion(models.Model):
    """A snapshot of a mapping's rules as saved; never changed afterwards."""

    mapping = models.ForeignKey(
        Mapping, on_delete=models.CASCADE, related_name="versions", verbose_name="mapping"
    )
    number = models.PositiveIntegerField("version")
    entity = models.CharField("entity", max_length=32, choices=entity_choices)
    direction = models.CharField("direction", max_length=16, choices=DIRECTIONS)
    null_policy = models.CharField("null policy", max_length=16, choices=NULL_POLICIES)
    rules = models.JSONField("rules", help_text="The rules exactly as they were saved.")
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
        verbose_name = "mapping version"
        ordering = ["mapping", "-number"]
        get_latest_by = "number"
        constraints = [
            models.UniqueConstraint(
                fields=["mapping", "number"], name="mappings_mappingversion_unique_number"
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Log entries name the version they applied: a version that changed would make them lie.
        if not self._state.adding:
            raise ValueError("Mapping versions are immutable; save the mapping to make a new one.")
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.mapping} v{self.number}"


class QuarantinedRecord(models.Model):
    """A HighLevel record Rankr could not store, set aside so the rest of the sync goes on.

    Kept with the rule, field, value and reason that failed and the record as it came, so it can
    be applied again without asking HighLevel: automatically when its mapping changes, or on
    demand. One row per record (location, entity, HighLevel id); ``resolved_at`` is set when it
    arrives in Rankr (by a retry, or a newer version that fits).
    """

    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="+", verbose_name="location"
    )
    mapping = models.ForeignKey(
        Mapping,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="quarantined",
        verbose_name="mapping",
    )
    mapping_version_number = models.PositiveIntegerField("mapping version", null=True, blank=True)
    entity = models.CharField("entity", max_length=32, choices=entity_choices)
    ghl_id = models.CharField("HighLevel id", max_length=64)
    rule_number = models.PositiveIntegerField(
        "rule", null=True, blank=True, help_text="The mapping rule that failed (1 = first)."
    )
    field = models.CharField("field", max_length=100, blank=True, help_text="The Rankr field.")
    value = models.TextField(
        "value", blank=True, help_text="The value that failed (cut at 1,000 characters)."
    )
    reason = models.TextField("reason")
    record = models.JSONField("record", help_text="The HighLevel record as it came.")
    event_time = models.CharField(
        "event time",
        max_length=40,
        blank=True,
        help_text="The webhook's timestamp, for records without a modification time.",
    )
    source = models.CharField(
        "came by", max_length=16, blank=True, help_text="poll, webhook, resync…"
    )
    job_id = models.BigIntegerField("job", null=True, blank=True)
    attempts = models.PositiveIntegerField("attempts", default=1)
    first_seen_at = models.DateTimeField("quarantined", auto_now_add=True)
    last_tried_at = models.DateTimeField("last tried", auto_now=True)
    resolved_at = models.DateTimeField(
        "arrived",
        null=True,
        blank=True,
        db_index=True,
        help_text="When the record reached Rankr after all; empty while it is set aside.",
    )

    class Meta:
        verbose_name = "quarantined record"
        ordering = ["-last_tried_at", "-id"]
        permissions = [("retry_quarantinedrecord", "Can retry quarantined records")]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "entity", "ghl_id"], name="mappings_quarantine_unique_record"
            ),
        ]
        indexes = [models.Index(fields=["mapping", "resolved_at"], name="quarantine_mapping_open")]

    def __str__(self) -> str:
        return f"{self.get_entity_display()} {self.ghl_id}"


from mappings.template_models import (  # noqa: E402  (one models module for Django)
    MappingTemplate,
    MappingTemplateVersion,
    Rollout,
    SourcePayload,
)

__all__ = [
    "Mapping",
    "MappingTemplate",
    "MappingTemplateVersion",
    "MappingVersion",
    "Rollout",
    "SourcePayload",
]
