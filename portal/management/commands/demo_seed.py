from django.core.management.base import BaseCommand, CommandError

from portal.services import DEMO_LOGINS, DemoSeedRefused, demo_seed_create


class Command(BaseCommand):
    help = "Create the demo agency, its locations and one login per role (empty database only)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/admin/")

    def handle(self, *args, url, **options):
        try:
            created = demo_seed_create()
        except DemoSeedRefused as exc:
            raise CommandError(str(exc)) from exc
        if not created:
            self.stdout.write("Users already exist; demo data left as it is.")
        self.stdout.write(self.style.SUCCESS(f"\nPortal: {url}"))
        self.stdout.write("Demo logins (username / password — role: sees):")
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.username} / {login.password} — {login.role}: {login.sees}")
