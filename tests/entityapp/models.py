from django.db import models

from rankr.models import RankrRecord


class Widget(RankrRecord):
    """The Rankr record of the throwaway ``widget`` entity (tests/entityapp/widget.py)."""

    KIND = "widget"

    name = models.CharField("name", max_length=200, blank=True)
    email = models.CharField("email", max_length=254, blank=True)

    class Meta(RankrRecord.Meta):
        verbose_name = "widget"
