import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from integrations.sync.synclog import sync_logs_prune

UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def age_parse(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([dhm])", text.strip())
    if not match:
        raise CommandError(f"--older-than {text!r}: use a number and d, h or m, e.g. 90d.")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


class Command(BaseCommand):
    help = "Delete sync log entries older than the given age (the only way entries are removed)."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", required=True, help="e.g. 90d, 12h, 30m")

    def handle(self, *args, older_than, **options):
        age = age_parse(older_than)
        deleted = sync_logs_prune(before=timezone.now() - age)
        self.stdout.write(f"Deleted {deleted} sync log entries older than {older_than}.")
