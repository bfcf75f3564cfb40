from django.core.management.base import BaseCommand
from django.utils import timezone

from integrations.management.commands.prune_sync_logs import age_parse
from integrations.sync.retention import jobs_prune


class Command(BaseCommand):
    help = (
        "Delete finished (succeeded, failed, dead, skipped) jobs, with their attempts, that "
        "finished before the given age. The scheduler tick also does this hourly past "
        "JOB_RETENTION_DAYS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", required=True, help="e.g. 90d, 12h, 30m")

    def handle(self, *args, older_than, **options):
        deleted = jobs_prune(before=timezone.now() - age_parse(older_than))
        self.stdout.write(f"Deleted {deleted} finished jobs older than {older_than}.")
