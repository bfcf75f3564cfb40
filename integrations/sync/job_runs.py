"""Running a job: claim, attempt on record, heartbeat lease, fenced writes, outcome.

A claim turns a due queued job into a running one, raises its fencing token and opens a
:class:`JobAttempt` (worker, start on the database's clock). While the handler runs, a heartbeat
thread renews the job's lease (``JOB_LEASE_S``, every ``JOB_HEARTBEAT_S``) on the database's clock.
Every checkpoint and the result are written only while the job is still running under this
attempt's token: a worker that lost its lease (it stalled, the recovery gave the job to another
worker) gets :class:`LeaseLost` and writes nothing over its successor. A job whose lease passed is
recovered by :func:`jobs_recover` (the tick): its open attempt is closed as *worker lost* and the
job queued again, so it resumes from its checkpoint within the lease plus one tick.
"""

import logging
import os
import random
import socket
import threading
import traceback
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Now
from django.utils.module_loading import import_string

from integrations.ghl.ratelimit import ratelimit_bulk
from integrations.ghl.transport import run_attempt_set
from integrations.sync.alerts import alert_raise
from integrations.sync.leases import lease_end
from integrations.sync.models import Job, JobAttempt
from portal.errors import PortalError, error_permanent, error_retry_after
from portal.logs import log_context
from portal.models import AlertCause
from portal.redact import connection_secrets, text_mask
from rankr.history import record_history_context

logger = logging.getLogger(__name__)

JobHandler = Callable[[Job], dict[str, Any] | None]

JOB_HANDLERS: dict[str, str] = {
    # kind: "module.function(job) -> dict"
    "poll": "integrations.sync.subscriptions.run.subscription_job_handle",
    "backfill": "integrations.sync.subscriptions.run.subscription_job_handle",
    "webhook": "integrations.sync.webhook_events.webhook_job_run",
    "resync": "integrations.sync.resync.resync_job_run",
    "rankr_event": "integrations.sync.outbound.rankr_event_job_run",
    "action": "integrations.sync.actions.action_job_run",
    "mint": "integrations.sync.onboarding.mint_batch_job_run",
    "verify": "integrations.sync.verify.verify_job_run",
    "location": "integrations.sync.lifecycle.location_refresh_job_run",
    "erase": "integrations.sync.erasure.service.erasure_job_run",
}

# Kinds of bulk work: their requests leave the rate limit's reserve (GHL_RATE_LIMIT_RESERVE) to
# incremental polls, resyncs and webhooks' look-ups.
BULK_KINDS = frozenset({"backfill", "verify"})
RENEWALS = "_heartbeat_renewals"  # the running job's extra renewals, set by job_run
# Errors of a database that went away or refuses for now: a connection lost or terminated, a
# server restarting, SQLite busy or its disk full. Not a bug, not bad data: the job is retried.
DATABASE_AWAY = (OperationalError, InterfaceError)
# A database that went away is usually back within seconds (a connection terminated, a server
# restarted, SQLite busy): its first retries come this soon, on a new connection, then back off.
DATABASE_AWAY_RETRY_SECONDS = 3
RETRY_CAP_SECONDS = 3600


class JobError(PortalError):
    pass


class LeaseLost(PortalError):
    """This worker no longer holds the job (its lease passed and the job was taken up again).

    Permanent for this worker: its successor owns the job now.
    """


class JobSkipped(PortalError):
    """The run did nothing because another run holds the work; not a success, not a failure."""

    def __init__(
        self,
        message: str,
        *,
        superseded_by: int | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.superseded_by = superseded_by
        self.result = result or {}


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _held(job: Job) -> "QuerySet[Job]":
    """The job's row, only while this attempt holds it."""
    return Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, lease_token=job.lease_token)


def job_claim(*, job_id: int) -> JobAttempt | None:
    """Claim a due queued job: the opened attempt for exactly one caller, else None."""
    with transaction.atomic():
        claimed = (
            Job.objects.filter(pk=job_id, status=Job.Status.QUEUED)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=Now()))
            .update(
                status=Job.Status.RUNNING,
                started_at=Now(),
                finished_at=None,
                lease_until=lease_end(seconds=settings.JOB_LEASE_S),
                attempts=F("attempts") + 1,
                lease_token=F("lease_token") + 1,
                superseded_by=None,
            )
        )
        if claimed != 1:
            return None
        last = JobAttempt.objects.filter(job_id=OuterRef("pk")).order_by("-number")
        token, started_at, number = (
            Job.objects.filter(pk=job_id)
            .values_list("lease_token", "started_at", Subquery(last.values("number")[:1]))
            .get()
        )
        if started_at is None:  # pragma: no cover - the claim just set it
            raise JobError(f"Job {job_id} was claimed without a start time.")
        return JobAttempt.objects.create(
            job_id=job_id,
            number=(number or 0) + 1,
            lease_token=token,
            worker=worker_name(),
            started_at=started_at,
        )


def job_fence(*, job: Job, **fields: Any) -> None:
    """Renew the lease (writing ``fields`` on the job with it), or raise :class:`LeaseLost`. Call
    first inside a write's transaction: on PostgreSQL the row stays locked to the commit, on
    SQLite the write lock is held from here."""
    if _held(job).update(lease_until=lease_end(seconds=settings.JOB_LEASE_S), **fields) != 1:
        raise LeaseLost(
            f"Job {job.pk}: this worker's lease (token {job.lease_token}) is no longer held."
        )


def job_checkpoint(*, job: Job, result: dict[str, Any]) -> None:
    """Persist what the job has achieved so far, right away, fenced by the attempt's token."""
    merged = {**job.result, **result}
    if _held(job).update(result=merged, lease_until=lease_end(seconds=settings.JOB_LEASE_S)) != 1:
        raise LeaseLost(f"Job {job.pk}: checkpoint refused, the lease is held by a newer run.")
    job.result = merged


def job_on_heartbeat(*, job: Job, renew: Callable[[], object]) -> None:
    """Also call ``renew()`` on each heartbeat of this run (e.g. to hold a subscription's claim)."""
    renewals = getattr(job, RENEWALS, None)
    if renewals is not None:
        renewals.append(renew)


class Heartbeat(threading.Thread):
    """Renews a running job's lease every ``JOB_HEARTBEAT_S`` seconds until stopped."""

    def __init__(self, job: Job) -> None:
        super().__init__(name=f"job-{job.pk}-heartbeat", daemon=True)
        self.job = job
        self.halt = threading.Event()
        self.lost = False

    def run(self) -> None:
        try:
            while not self.halt.wait(settings.JOB_HEARTBEAT_S):
                try:
                    if (
                        _held(self.job).update(lease_until=lease_end(seconds=settings.JOB_LEASE_S))
                        != 1
                    ):
                        self.lost = True
                        return
                    for renew in list(getattr(self.job, RENEWALS, [])):
                        renew()
                except DatabaseError:  # the next beat tries again; the lease covers two misses
                    logger.warning("job %s: heartbeat failed", self.job.pk, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self.halt.set()
        self.join(5)


def job_run(*, job_id: int) -> str | None:
    """Claim and run one job through its handler; record the outcome on the job and its attempt."""
    attempt = job_claim(job_id=job_id)
    if attempt is None:
        return None
    job = Job.objects.select_related("connection", "location").get(pk=job_id)
    # Every line logged during the run names the job, its attempt and its location (portal.logs).
    with log_context(
        job_id=job.pk,
        job_kind=job.kind,
        attempt=attempt.number,
        location_id=job.location.location_id if job.location else None,
    ):
        return _run_claimed(job, attempt)


def _run_claimed(job: Job, attempt: JobAttempt) -> str | None:
    setattr(job, RENEWALS, [])  # what job_on_heartbeat adds, for this run only
    # Inside an outer transaction (tests, inline runs) another connection could not see the job.
    heartbeat = None if connection.in_atomic_block else Heartbeat(job)
    if heartbeat:
        heartbeat.start()
    run_attempt_set(attempt.pk)
    try:
        handler_path = JOB_HANDLERS.get(job.kind)
        if handler_path is None:
            raise JobError(f"No handler for {job.kind} jobs.")
        handler: JobHandler = import_string(handler_path)
        with (
            record_history_context(job_id=job.pk),  # records it writes name this job
            ratelimit_bulk(job.kind in BULK_KINDS),  # leaves the rate limit's reserve to polls
        ):
            result = handler(job)
    except LeaseLost as exc:
        logger.warning("%s; its writes stop here", exc)
        return None
    except JobSkipped as exc:
        return _record(
            job,
            attempt,
            status=Job.Status.SKIPPED,
            result=exc.result,
            error=exc,
            superseded_by=exc.superseded_by,
        )
    except Exception as exc:  # noqa: BLE001 (every failure is recorded on the attempt; see below)
        # The error says whether to retry and when (portal.errors); one without a word is a bug
        # or bad data: recorded for support, not retried. A database that went away or refuses
        # for now (connection lost or terminated, server restarting, SQLite busy or its disk
        # full) is neither: retried. A lost connection is dropped first, so the outcome is
        # written on a new one (if the database is still away, the lease recovers the job).
        if isinstance(exc, DATABASE_AWAY) and not connection.in_atomic_block:
            connection.close()
        if not hasattr(exc, "permanent"):
            trace = "".join(traceback.format_exception(exc))
            logger.error("job %s failed\n%s", job.pk, text_mask(trace, secrets=_secrets(job)))
        return _record_failure(
            job,
            attempt,
            exc,
            transient=job_error_transient(exc),
            retry_after=error_retry_after(exc),
            trace_id=str(getattr(exc, "trace_id", "") or ""),
        )
    finally:
        run_attempt_set(None)
        if heartbeat:
            heartbeat.stop()
    return _record(job, attempt, status=Job.Status.SUCCEEDED, result=result or {})


def job_error_transient(exc: BaseException) -> bool:
    """Whether a job that raised ``exc`` is retried: the error's word (portal.errors), and a
    database that went away or refuses for now (:data:`DATABASE_AWAY`) is transient."""
    return isinstance(exc, DATABASE_AWAY) or not error_permanent(exc)


def job_backoff(
    *, attempts: int, retry_after: float | None = None, database_away: bool = False
) -> float:
    """Seconds before the next attempt: Retry-After when given, else full-jitter exponential
    (from :data:`DATABASE_AWAY_RETRY_SECONDS` when the database went away, else
    ``JOB_RETRY_BASE_S``)."""
    if retry_after:
        return float(retry_after)
    base = DATABASE_AWAY_RETRY_SECONDS if database_away else settings.JOB_RETRY_BASE_S
    ceiling = min(RETRY_CAP_SECONDS, base * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


def _secrets(job: Job) -> tuple[str, ...]:
    return tuple(connection_secrets(job.connection)) if job.connection_id else ()


def _error_text(exc: BaseException, job: Job | None = None) -> str:
    return text_mask(str(exc), secrets=_secrets(job) if job else ())[:2000]


def _record(
    job: Job,
    attempt: JobAttempt,
    *,
    status: str,
    result: dict[str, Any],
    error: BaseException | None = None,
    superseded_by: int | None = None,
) -> str | None:
    job.result = {**job.result, **result}
    outcome = (
        JobAttempt.Outcome.SUCCEEDED
        if status == Job.Status.SUCCEEDED
        else JobAttempt.Outcome.SKIPPED
    )
    fields: dict[str, Any] = dict(
        status=status,
        result=job.result,
        finished_at=Now(),
        lease_until=None,
        next_attempt_at=None,
        superseded_by_id=superseded_by,
    )
    if status == Job.Status.SUCCEEDED:
        fields.update(error_class="", error_message="")
    else:
        fields.update(error_class="", error_message=_error_text(error) if error else "")
    return _write(
        job,
        attempt,
        fields,
        dict(
            outcome=outcome,
            superseded_by_id=superseded_by,
            error_message=_error_text(error) if error else "",
        ),
    )


def _record_failure(
    job: Job,
    attempt: JobAttempt,
    exc: BaseException,
    *,
    transient: bool,
    retry_after: float | None = None,
    trace_id: str = "",
) -> str | None:
    fields: dict[str, Any] = dict(
        error_class=exc.__class__.__name__, error_message=_error_text(exc, job), lease_until=None
    )
    attempt_fields: dict[str, Any] = dict(
        outcome=JobAttempt.Outcome.FAILED,
        error_class=exc.__class__.__name__,
        error_message=_error_text(exc, job),
        permanent=not transient,
        trace_id=trace_id[:100],
    )
    if transient and job.attempts < job.max_attempts:
        wait = job_backoff(
            attempts=job.attempts,
            retry_after=retry_after,
            database_away=isinstance(exc, DATABASE_AWAY),
        )
        retry_at = lease_end(seconds=wait)
        fields.update(status=Job.Status.QUEUED, next_attempt_at=retry_at, sent_at=None)
        attempt_fields["retry_at"] = retry_at
    else:
        fields.update(status=Job.Status.DEAD if transient else Job.Status.FAILED, finished_at=Now())
    status = _write(job, attempt, fields, attempt_fields)
    if status == Job.Status.DEAD and job.location_id:
        alert_raise(
            cause=AlertCause.JOB_DEAD,
            location_id=job.location_id,
            detail={
                "job_id": job.pk,
                "message": f"{job.get_kind_display()} job #{job.pk}: "
                f"{fields['error_message'][:200]}",
            },
        )
    return status


def _write(
    job: Job, attempt: JobAttempt, job_fields: dict[str, Any], attempt_fields: dict[str, Any]
) -> str | None:
    """The result write: fenced by the attempt's token, job and attempt together."""
    with transaction.atomic():
        if _held(job).update(**job_fields) != 1:
            logger.warning("job %s: result refused, the lease is held by a newer run", job.pk)
            return None
        JobAttempt.objects.filter(pk=attempt.pk, outcome=JobAttempt.Outcome.RUNNING).update(
            ended_at=Now(), **attempt_fields
        )
    return str(job_fields["status"])


def jobs_recover(*, limit: int = 500) -> list[int]:
    """Close the attempts of jobs whose lease passed (on the database's clock) as *worker lost*
    and queue the jobs again, or make them dead when their attempts are spent. Returns the ids
    queued again (the caller sends them)."""
    lost = list(
        Job.objects.filter(status=Job.Status.RUNNING, lease_until__lt=Now()).values_list(
            "pk", "lease_token", "attempts", "max_attempts"
        )[:limit]
    )
    queued = []
    for pk, token, attempts, max_attempts in lost:
        spent = attempts >= max_attempts
        message = (
            f"The worker stopped renewing its lease (no heartbeat for {settings.JOB_LEASE_S} s): "
            "it died, hung or lost the database."
        )
        with transaction.atomic():
            taken = Job.objects.filter(
                pk=pk, status=Job.Status.RUNNING, lease_token=token, lease_until__lt=Now()
            ).update(
                status=Job.Status.DEAD if spent else Job.Status.QUEUED,
                lease_until=None,
                lease_token=F("lease_token") + 1,
                next_attempt_at=None if spent else Now(),
                finished_at=Now() if spent else None,
                sent_at=None,
                error_class="WorkerLost",
                error_message=message,
            )
            if taken != 1:
                continue
            JobAttempt.objects.filter(
                job_id=pk, lease_token=token, outcome=JobAttempt.Outcome.RUNNING
            ).update(
                outcome=JobAttempt.Outcome.WORKER_LOST,
                ended_at=Now(),
                error_class="WorkerLost",
                error_message=message,
            )
        logger.warning(
            "job %s: worker lost, %s", pk, "dead (attempts spent)" if spent else "queued again"
        )
        location_id = Job.objects.filter(pk=pk).values_list("location_id", flat=True).first()
        if spent and location_id:
            alert_raise(
                cause=AlertCause.JOB_DEAD,
                location_id=location_id,
                detail={"job_id": pk, "message": f"job #{pk}: {message[:200]}"},
            )
        if not spent:
            queued.append(pk)
    return queued
