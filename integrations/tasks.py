"""django-q2 tasks: thin, receive ids only."""

from integrations.services.jobs import job_run, jobs_dispatch_due
from integrations.services.onboarding import mint_batch_run
from integrations.services.subscriptions import subscriptions_dispatch
from integrations.services.webhooks import webhook_event_process


def mint_batch_task(batch_id: int) -> None:
    """Kept for batches queued by an earlier release; new batches run as jobs."""
    mint_batch_run(batch_id=batch_id)


def webhook_event_process_task(event_id: int) -> None:
    """Kept for events queued by an earlier release; new events become jobs when received."""
    webhook_event_process(event_id=event_id)


def job_run_task(job_id: int) -> None:
    job_run(job_id=job_id)


def tick_task() -> None:
    """Every minute (a django-q2 schedule), and every round of ``manage.py dispatch --loop``:
    recover dead workers' jobs, send due retries and unsent jobs, dispatch due subscriptions."""
    jobs_dispatch_due()
    subscriptions_dispatch()
