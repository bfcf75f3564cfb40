import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connections

from integrations.models import Job, Subscription
from integrations.sync.jobs import job_run
from integrations.sync.subscriptions import subscription_run_now
from integrations.sync.subscriptions.progress import progress_text
from portal.models import Location

DONE = (Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.DEAD)


class Command(BaseCommand):
    help = (
        "Backfill subscriptions now, showing progress: one subscription by id, or every enabled "
        "one of a location. Runs here unless a worker takes the job first (then follows it)."
    )

    def add_arguments(self, parser):
        parser.add_argument("subscription_id", nargs="?", type=int)
        parser.add_argument("--location", help="Portal location id or HighLevel locationId.")

    def handle(self, *args, subscription_id=None, location=None, **options):
        if (subscription_id is None) == (location is None):
            raise CommandError("Give a subscription id or --location (one of them).")
        if subscription_id is not None:
            ids = list(Subscription.objects.filter(pk=subscription_id).values_list("pk", flat=True))
            if not ids:
                raise CommandError(f"No subscription {subscription_id}.")
        else:
            found = Location.objects.filter(location_id=location).first()
            if found is None and location.isdigit():
                found = Location.objects.filter(pk=int(location)).first()
            if found is None:
                raise CommandError(f"No location {location!r} (portal id or HighLevel locationId).")
            ids = list(
                Subscription.objects.filter(location=found, enabled=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if not ids:
                raise CommandError(f"{found} has no enabled subscriptions.")
        failed = 0
        for pk in ids:
            failed += not self._backfill(pk)
        if failed:
            raise CommandError(f"{failed} backfill(s) did not succeed; see the jobs in the admin.")

    def _backfill(self, subscription_id):
        job = subscription_run_now(subscription_id=subscription_id, user_id=None, backfill=True)
        subscription = Subscription.objects.get(pk=subscription_id)
        if job is None:
            self.stderr.write(f"{subscription}: a run holds it now; try again when it ends.")
            return False
        self.stdout.write(f"Backfilling {subscription} (job {job.pk})")
        while True:
            runner = threading.Thread(target=_run_job, args=(job.pk,), daemon=True)
            runner.start()
            while True:
                runner.join(0.5)
                subscription.refresh_from_db()
                job.refresh_from_db()
                self.stdout.write("\r" + progress_text(subscription, bar=True), ending="")
                self.stdout.flush()
                if not runner.is_alive() and job.status in DONE:
                    break
                if not runner.is_alive():
                    time.sleep(0.5)  # a worker took the job: follow it
            following = job.result.get("continuation_job")
            if job.status != Job.Status.SUCCEEDED or not following:
                break
            job = Job.objects.get(pk=following)  # a long backfill goes on in a new job
        self.stdout.write("")
        if job.status != Job.Status.SUCCEEDED:
            self.stderr.write(f"{subscription}: {job.status}: {job.error_message}")
            return False
        self.stdout.write(
            self.style.SUCCESS(
                f"{subscription}: {subscription.last_run_records:,} records, "
                f"{subscription.last_run_changed:,} written, {subscription.last_run_requests:,} requests"
            )
        )
        return True


def _run_job(job_id):
    close_old_connections()
    try:
        job_run(job_id=job_id)
    finally:
        connections.close_all()
