import logging
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from integrations.models import Heartbeat
from integrations.sync.heartbeats import heartbeat_beat
from integrations.sync.jobs import jobs_dispatch_due
from integrations.sync.subscriptions import subscriptions_dispatch

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Dispatch due polling subscriptions, send due job retries and recover the jobs of dead "
        "workers. The scheduler tick does this every minute; run with --loop for shorter lag "
        "(a dead worker's job is then taken up within its lease plus one round)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep dispatching until stopped.")
        parser.add_argument(
            "--every", type=float, default=5.0, help="Seconds between rounds (--loop)."
        )

    def handle(self, *args, loop=False, every=5.0, **options):
        while True:
            started = time.monotonic()
            try:
                if loop:  # a loop's sign of life, each round (dashboard, /healthz, /metrics)
                    heartbeat_beat(component=Heartbeat.Component.DISPATCHER)
                jobs_dispatch_due()
                count = subscriptions_dispatch()
            except DatabaseError:
                if not loop:
                    raise
                logger.exception("dispatch round failed; trying again next round")
            if not loop:
                self.stdout.write(f"Dispatched {count} subscription run(s).")
                return
            time.sleep(max(every - (time.monotonic() - started), 0.1))
            close_old_connections()  # a long-running process: no connection kept past its age
