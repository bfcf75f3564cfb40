from django.core.management.base import BaseCommand
from django.utils import timezone

from integrations.management.commands.prune_sync_logs import age_parse
from integrations.sync.retention import webhook_events_prune


class Command(BaseCommand):
    help = (
        "Delete webhook events received before the given age (events still waiting to be "
        "processed are kept). The scheduler tick also does this hourly past "
        "WEBHOOK_EVENT_RETENTION_DAYS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", required=True, help="e.g. 30d, 12h, 30m")

    def handle(self, *args, older_than, **options):
        deleted = webhook_events_prune(before=timezone.now() - age_parse(older_than))
        self.stdout.write(f"Deleted {deleted} webhook events older than {older_than}.")
