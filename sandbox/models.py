"""The sandbox's state: one generic table of HighLevel resources, per location and kind.

Each stateful kind (contact, task, note, ...) is rows of ``Resource`` holding HighLevel's JSON as
``data``; ``seq`` is a monotonic sequence that gives every listing a stable order under concurrent
writes (a new row always sorts after the cursor a client already holds). The few fields the
sandbox filters on in bulk (email, phone, tags, parent) are copied into indexed columns.
"""

from django.db import models


class Resource(models.Model):
    seq = models.BigAutoField(
        primary_key=True,
        verbose_name="sequence",
        help_text="Monotonic; the stable order of every listing.",
    )
    location_id = models.CharField(
        max_length=64,
        db_index=True,
        verbose_name="location id",
        help_text="HighLevel location (sub-account) owning the resource; "
        "blank for company-level resources.",
    )
    company_id = models.CharField(max_length=64, blank=True, default="", verbose_name="company id")
    kind = models.CharField(max_length=40, help_text="contact, task, note, calendar, user, ...")
    resource_id = models.CharField(
        max_length=64,
        verbose_name="resource id",
        help_text="HighLevel's id for the resource, unique per kind.",
    )
    parent_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_index=True,
        verbose_name="parent id",
        help_text="Owning resource (the contact of a task or note).",
    )
    email = models.CharField(max_length=254, blank=True, default="", help_text="Lower case.")
    phone = models.CharField(max_length=40, blank=True, default="", help_text="Digits and +.")
    tags = models.TextField(
        blank=True, default="", help_text="Lower-case tags as |a|b|, for portable tag filters."
    )
    data = models.JSONField(default=dict, help_text="The resource as HighLevel returns it.")
    deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name="created at")
    updated_at = models.DateTimeField(auto_now=True, verbose_name="updated at")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resource_id", "kind"], name="sandbox_resource_id_kind"
            ),
        ]
        indexes = [
            models.Index(
                fields=["location_id", "kind", "deleted", "seq"], name="sandbox_res_listing"
            ),
            models.Index(fields=["location_id", "kind", "email"], name="sandbox_res_email"),
            models.Index(fields=["location_id", "kind", "phone"], name="sandbox_res_phone"),
        ]

    def __str__(self):
        return f"{self.kind} {self.resource_id}"

    @property
    def created_ms(self) -> int:
        """Creation time in epoch milliseconds, as HighLevel's ``startAfter`` cursors use."""
        return int(self.created_at.timestamp() * 1000)
