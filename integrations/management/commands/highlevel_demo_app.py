from django.core.management.base import BaseCommand, CommandError

from integrations.sync.demo import DemoAppRefused, demo_app_ensure


class Command(BaseCommand):
    help = "Register the portal's sandbox-mode demo HighLevel app (client id rankr-demo-client)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--redirect-url",
            default="http://127.0.0.1:8000/integrations/oauth/callback/",
            help="The portal's OAuth callback, exactly as the browser will reach it.",
        )

    def handle(self, *args, redirect_url, **options):
        try:
            app, created = demo_app_ensure(redirect_url=redirect_url)
        except DemoAppRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{'Registered' if created else 'Updated'} {app} with redirect URL {app.redirect_url}"
        )
