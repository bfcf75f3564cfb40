"""Mapping versions: what changed between two, and restoring one (as a new version)."""

import difflib
import json

from django.db import transaction

from mappings.models import Mapping, MappingVersion


def _lines(version: MappingVersion) -> list[str]:
    text = json.dumps(
        {"null_policy": version.null_policy, "rules": version.rules}, indent=2, ensure_ascii=False
    )
    return text.splitlines()


def mapping_versions_diff(
    *, mapping_id: int, old_number: int, new_number: int
) -> list[tuple[str, str]]:
    """Line diff of two versions' rules and null policy: a list of (kind, text) with kind one of
    ``same``, ``add``, ``del``, ``skip`` (a run of unchanged lines left out)."""
    versions = {
        v.number: v
        for v in MappingVersion.objects.filter(
            mapping_id=mapping_id, number__in=[old_number, new_number]
        )
    }
    if old_number not in versions or new_number not in versions:
        raise MappingVersion.DoesNotExist("No such version of this mapping.")
    old, new = _lines(versions[old_number]), _lines(versions[new_number])
    lines: list[tuple[str, str]] = []
    for group in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_grouped_opcodes(3):
        if lines:
            lines.append(("skip", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(("same", line) for line in old[i1:i2])
                continue
            lines.extend(("del", line) for line in old[i1:i2])
            lines.extend(("add", line) for line in new[j1:j2])
    return lines


@transaction.atomic
def mapping_version_restore(*, mapping_id: int, number: int, user_id: int | None) -> MappingVersion:
    """Make version ``number``'s rules the mapping's rules again, as a new version.

    Returns the new version (or the latest one, when it already has those rules).
    """
    from mappings.services import mapping_save

    mapping = Mapping.objects.select_for_update().get(pk=mapping_id)
    version = MappingVersion.objects.get(mapping_id=mapping_id, number=number)
    mapping.rules = version.rules
    mapping.null_policy = version.null_policy
    return mapping_save(mapping=mapping, user_id=user_id, reason=f"restored version {number}")
