from django.core.management.base import BaseCommand, CommandError

from integrations.sync.secrets import secrets_rotate
from portal.crypto import SecretUnreadable


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret under the newest key in ENCRYPTION_KEYS. Put the new key "
        "first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, *args, **options):
        try:
            counts = secrets_rotate()
        except SecretUnreadable as exc:
            raise CommandError(str(exc)) from None
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count} row(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS("All secrets are now under the newest key."))
