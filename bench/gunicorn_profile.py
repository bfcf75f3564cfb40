"""Gunicorn settings that profile each sandbox worker with cProfile (``BENCH_PROFILE=DIR``).

Used by ``sync_world.Sandbox`` when ``BENCH_PROFILE`` names a directory: one sync worker, one
thread (cProfile sees only the thread that enabled it), stats written to
``DIR/sandbox-<pid>.prof`` when the worker exits. Read them with
``python -m pstats DIR/sandbox-<pid>.prof`` (``sort cumtime``, ``stats 40``).
"""

import cProfile
import os
import time

_profiles = []  # this worker's profiler (one per forked worker process)


def post_fork(server, worker):
    profile = cProfile.Profile(time.process_time)  # CPU, not a shared machine's wall
    _profiles.append(profile)
    profile.enable()


def worker_exit(server, worker):
    for profile in _profiles:
        profile.disable()
        profile.dump_stats(os.path.join(os.environ["BENCH_PROFILE"], f"sandbox-{os.getpid()}.prof"))
