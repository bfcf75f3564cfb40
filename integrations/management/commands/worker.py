"""The job worker: django-q2's cluster (``qcluster``), stopped cleanly by a SIGTERM or SIGINT sent
to its whole process group (systemd's default ``KillMode=control-group``, honcho, a terminal's
Ctrl-C), not only by one sent to its leader.

Why: django-q2's cluster stops through a multiprocessing event its sentinel process waits on. A
signal sent to the group kills the sentinel (it restores the default action) while it waits; the
leader's ``stop_event.set()`` then waits for that dead sleeper to wake, forever, until the process
manager kills it (django-q2 issues #66, #346). Here the leader starts the cluster with the stop
signals blocked, so the sentinel, pusher and monitor it forks inherit the block and leave the stop
to the leader; the worker processes unblock SIGTERM again (``post_spawn``: the sentinel's
``terminate()`` of a task past ``Q_TIMEOUT`` must still reach them), and a group's SIGTERM ends
their task as a kill does (the job's lease takes it up again; README, "When a worker or a host
dies").
"""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def worker_signals_restore(**_signal: object) -> None:
    """In each worker process (django-q2's ``post_spawn``): SIGTERM reaches it again."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


class Command(BaseCommand):
    help = (
        "Run the job worker (django-q2's cluster, Q_WORKERS processes); stops cleanly on a SIGTERM "
        "or SIGINT sent to it or to its whole process group."
    )

    def handle(self, *args, **options):
        from django_q.cluster import Cluster
        from django_q.signals import post_spawn

        settings.SECRET_KEY  # noqa: B018 - as qcluster: no cluster without a signing key
        post_spawn.connect(worker_signals_restore, dispatch_uid="portal-worker-signals")
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # inherited by what start() forks
        try:
            cluster = Cluster()
            cluster.start()
        finally:
            # A stop signal that came meanwhile is delivered now, to the leader's handler.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
