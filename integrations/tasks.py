"""The django-q2 task paths of the first release, kept so nothing queued before an upgrade fails.

Tasks queued by that release (and its tick Schedule row, which migration 0011 moves) name
``integrations.tasks.<name>``; the entry points live in :mod:`integrations.interfaces.tasks`.
New code enqueues those, never these.
"""

from integrations.interfaces.tasks import (  # noqa: F401  (re-exported for stored task paths)
    job_run_task,
    mint_batch_task,
    tick_task,
    webhook_event_process_task,
)
