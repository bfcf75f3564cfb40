"""Mappings: how one entity's fields go between HighLevel and Rankr at a location.

A ``Mapping`` holds the rules being edited; every saved change is snapshotted into an immutable
``MappingVersion``, which is what the sync applies and what log entries name.
"""

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
        "mappings.MappingTemplate", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="mappings", verbose_name="agency template",
        help_text="The agency template this location's mapping follows, if any.",
    )
    template_version = models.ForeignKey(
        "mappings.MappingTemplateVersion", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", verbose_name="template version",
        help_text="The template version this location runs (changed by rollouts).",
    )
    overrides = models.JSONField(
        "overrides", default=dict, blank=True,
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

    def __str__(self):
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

    def save(self, *args, **kwargs):
        # Log entries name the version they applied: a version that changed would make them lie.
        if not self._state.adding:
            raise ValueError("Mapping versions are immutable; save the mapping to make a new one.")
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{self.mapping} v{self.number}"


from mappings.template_models import (  # noqa: E402  (one models module for Django)
    MappingTemplate,
    MappingTemplateVersion,
    Rollout,
    SourcePayload,
)

__all__ = [
    "Mapping", "MappingTemplate", "MappingTemplateVersion", "MappingVersion", "Rollout",
    "SourcePayload",
]
