"""The deviations the catalog found in live answers, recorded per operation and counted
(``SPEC_DEVIATION_HANDLER``; admin: *Spec deviations*)."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integrations.sync.models import SpecDeviation


def spec_deviations_record(
    *, operation_key: str, status: int, deviations: list[tuple[str, str]]
) -> int:
    """One row per (operation, status, place, rule), its count raised each time it is seen."""
    for path, message in deviations:
        key = {"operation": operation_key[:300], "status": status, "path": path, "message": message}
        updated = SpecDeviation.objects.filter(**key).update(
            count=F("count") + 1, last_seen_at=timezone.now()
        )
        if updated:
            continue
        try:
            with transaction.atomic():
                SpecDeviation.objects.create(**key)
        except IntegrityError:  # another worker recorded it first
            SpecDeviation.objects.filter(**key).update(
                count=F("count") + 1, last_seen_at=timezone.now()
            )
    return len(deviations)
