"""django-q2 tasks: thin, receive ids only."""

from integrations.sync.alerts import alerts_send
from integrations.sync.erasure import deleted_records_erase_due
from integrations.sync.jobs import job_run, jobs_dispatch_due
from integrations.sync.onboarding import mint_batch_run
from integrations.sync.payloads import payloads_reapply_mapping
from integrations.sync.retention import retention_run_due
from integrations.sync.subscriptions import subscriptions_dispatch
from integrations.sync.subscriptions.budget import budgets_enforce
from integrations.sync.verify import verifications_schedule
from integrations.sync.webhooks_in import webhook_event_process, webhook_events_release
from mappings.services import quarantine_retry


def mint_batch_task(batch_id: int) -> None:
    """Kept for batches queued by an earlier release; new batches run as "mint" jobs."""
    mint_batch_run(batch_id=batch_id)


def webhook_event_process_task(event_id: int) -> None:
    """Kept for events queued by an earlier release; new events get their job when received."""
    webhook_event_process(event_id=event_id)


def quarantine_retry_task(
    mapping_id: int | None = None, quarantine_ids: list[int] | None = None
) -> None:
    """Apply quarantined records again (after a mapping change, or the admin's *Retry now*)."""
    if mapping_id is None and not quarantine_ids:
        return
    quarantine_retry(mapping_id=mapping_id, quarantine_ids=quarantine_ids)


def payloads_reapply_task(mapping_id: int) -> None:
    """Map the stored raw payloads again with the mapping's latest version (after a new version,
    or the admin's *Re-apply to stored payloads*)."""
    payloads_reapply_mapping(mapping_id=mapping_id)


def job_run_task(job_id: int) -> None:
    job_run(job_id=job_id)


def tick_task() -> None:
    """Every minute (a django-q2 schedule): send due retries, recover dead workers' jobs, and
    dispatch due polling subscriptions (``manage.py dispatch --loop`` does it more often), and send
    the alerts gathered since the last tick, and apply the webhook events that waited for their
    location to be connected; hourly, prune and erase what is past its time."""
    jobs_dispatch_due()
    subscriptions_dispatch()
    alerts_send()
    retention_run_due()
    deleted_records_erase_due()
    webhook_events_release()


def verify_all_task() -> None:
    """Daily (a django-q2 schedule): queue one verification job per connected location, and
    pause the subscriptions of a location (or company) that outgrew its budget share."""
    verifications_schedule()
    budgets_enforce()
