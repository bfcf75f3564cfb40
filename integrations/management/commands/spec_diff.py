from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from integrations.catalog.spec_diff import spec_diff
from integrations.catalog.spec_files import SpecError
from integrations.sync.spec_uses import spec_uses

TITLES = {
    "removed": "Removed operations",
    "version": "Version changes",
    "required": "New required parameters",
    "deprecated": "Deprecations",
    "scopes": "Scope changes",
    "added": "New operations",
}


class Command(BaseCommand):
    help = (
        "Compare two copies of HighLevel's specs (e.g. specs/highlevel and a newer download): "
        "removed and changed operations, Version changes, new required parameters, deprecations; "
        "each marked USED with what uses it (named operations, flows, mappings, subscriptions)."
    )

    def add_arguments(self, parser):
        parser.add_argument("old_dir", help="the specs in use, e.g. specs/highlevel")
        parser.add_argument("new_dir", help="the new copy (apps/, common/, docs/ inside)")
        parser.add_argument(
            "--used-only", action="store_true", help="list only what the portal uses"
        )

    def handle(self, *args, old_dir, new_dir, used_only, **options):
        try:
            uses = spec_uses()
        except DatabaseError as exc:
            first_line = (str(exc).splitlines() or [exc.__class__.__name__])[0]
            raise CommandError(
                "spec_diff counts the locations' mappings and subscriptions in the portal's "
                f"database, which cannot be read ({first_line}): run manage.py migrate first"
            ) from exc
        try:
            diff = spec_diff(old_dir=Path(old_dir), new_dir=Path(new_dir), uses=uses)
        except SpecError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Operations: {diff.old_count} → {diff.new_count}")
        for kind, title in TITLES.items():
            changes = [c for c in diff.of_kind(kind) if c.used_by or not used_only]
            if not changes:
                continue
            self.stdout.write(f"\n{title} ({len(changes)}):")
            for change in changes:
                mark = "USED " if change.used_by else "     "
                self.stdout.write(f"  {mark}{change.key}: {change.detail}")
                if change.used_by:
                    self.stdout.write(f"        used by: {'; '.join(change.used_by)}")
        used = len(diff.breaking_used)
        self.stdout.write(f"\n{used} change(s) affect what the portal uses.")
