"""`manage.py sandbox_demo_app --redirect-uri URL`: the sandbox's demo app for `make demo`."""

from django.core.management.base import BaseCommand, CommandError

from sandbox.access.services.registry import DEMO_APP, DemoRefused, sandbox_demo_ensure


class Command(BaseCommand):
    help = "Register the sandbox's demo marketplace app (rankr-demo-client) and the demo agency."

    def add_arguments(self, parser):
        parser.add_argument(
            "--redirect-uri",
            action="append",
            required=True,
            help="A redirect URI the consent page may send codes to (repeatable).",
        )
        parser.add_argument(
            "--webhook-url", default="", help="Where to deliver webhooks (optional)."
        )

    def handle(self, *args, redirect_uri, webhook_url, **options):
        try:
            sandbox_demo_ensure(redirect_uris=redirect_uri, webhook_url=webhook_url)
        except DemoRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Sandbox demo app {DEMO_APP['client_id']} redirects to {', '.join(redirect_uri)}"
        )
