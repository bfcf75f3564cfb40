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
import time
import traceback
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Now
from django.utils.module_loading import import_string

from integrations.ghl.ratelimit import ratelimit_bulk
from integrations.ghl.transport import run_attempt_set
from integrations.sync.alerts import alert_raise
from integrations.sync.job_statements import (
    DB_NOW,
    DbNow,
    attempt_open,
    job_claim_row,
    row_update_where,
)
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
SUCCESS_WRITES = "_success_writes"  # written with the running job's success, set by job_run
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


_worker_names: dict[int, str] = {}  # pid -> name, worked out once a process (a fork: its own)


def worker_name() -> str:
    pid = os.getpid()
    name = _worker_names.get(pid)
    if name is None:
        name = _worker_names[pid] = f"{socket.gethostname()}:{pid}"
    return name


def _held(job: Job) -> "QuerySet[Job]":
    """The job's row, only while this attempt holds it."""
    return Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, lease_token=job.lease_token)


def _held_update(job: Job, **fields: Any) -> int:
    """Write ``fields`` on the job's row only while this attempt holds it (its fencing token);
    1 when written, 0 when the lease is lost. Plain values, or :class:`DbNow` for the database's
    clock (one statement composed once: :mod:`.job_statements`)."""
    return row_update_where(
        model=Job,
        where={"pk": job.pk, "status": Job.Status.RUNNING, "lease_token": job.lease_token},
        values=fields,
    )


def _lease() -> DbNow:
    """A running job's lease end: the database's now plus ``JOB_LEASE_S``."""
    return DbNow(settings.JOB_LEASE_S)


def job_claim(*, job_id: int) -> JobAttempt | None:
    """Claim a due queued job: the opened attempt for exactly one caller, else None."""
    claimed = _claim(job_id=job_id)
    return None if claimed is None else claimed[1]


def _claim(*, job_id: int) -> tuple[Job, JobAttempt, str | None] | None:
    """:func:`job_claim`, also returning the job as claimed and its location's HighLevel id (None
    without a location): the claim's UPDATE reads them back, so the run reads the job no more.
    Two statements in one transaction: the claim (the job's row stays locked to the commit on
    PostgreSQL; SQLite's writing transaction holds the database) and the attempt's insert."""
    with transaction.atomic():
        claimed = job_claim_row(job_id=job_id, lease_s=settings.JOB_LEASE_S)
        if claimed is None:
            return None
        job, location_ghl_id = claimed
        if job.started_at is None:  # pragma: no cover - the claim just set it
            raise JobError(f"Job {job_id} was claimed without a start time.")
        attempt = attempt_open(
            job_id=job_id,
            lease_token=job.lease_token,
            worker=worker_name(),
            started_at=job.started_at,
        )
    return job, attempt, location_ghl_id


def job_fence(*, job: Job, **fields: Any) -> None:
    """Renew the lease (writing ``fields`` on the job with it), or raise :class:`LeaseLost`. Call
    first inside a write's transaction: on PostgreSQL the row stays locked to the commit, on
    SQLite the write lock is held from here."""
    if _held_update(job, lease_until=_lease(), **fields) != 1:
        raise LeaseLost(
            f"Job {job.pk}: this worker's lease (token {job.lease_token}) is no longer held."
        )


def job_checkpoint(*, job: Job, result: dict[str, Any]) -> None:
    """Persist what the job has achieved so far, right away, fenced by the attempt's token."""
    merged = {**job.result, **result}
    if _held_update(job, result=merged, lease_until=_lease()) != 1:
        raise LeaseLost(f"Job {job.pk}: checkpoint refused, the lease is held by a newer run.")
    job.result = merged


def job_on_heartbeat(*, job: Job, renew: Callable[[], object]) -> None:
    """Also call ``renew()`` on each heartbeat of this run (e.g. to hold a subscription's claim)."""
    renewals = getattr(job, RENEWALS, None)
    if renewals is not None:
        renewals.append(renew)


def job_on_success(*, job: Job, write: Callable[[], object]) -> bool:
    """Call ``write()`` inside the transaction that records this run's success, once the fence
    held (not at all when the lease was lost or the run did not succeed): the handler's own
    outcome commits with the job's, one transaction and no fence of its own. False when ``job``
    is not being run by :func:`job_run` (the caller then writes it itself)."""
    writes = getattr(job, SUCCESS_WRITES, None)
    if writes is None:
        return False
    writes.append(write)
    return True


class Heartbeat:
    """Renews a running job's lease every ``JOB_HEARTBEAT_S`` seconds from its start until
    stopped (and calls the run's :func:`job_on_heartbeat` renewals with it); ``lost`` once a
    renewal found the lease held by a newer run, after which it renews no more.

    The renewals are made by one daemon thread per process (:class:`_Beater`), started with the
    first job that beats, on its own database connection (closed whenever no job is running): a
    job asks for none of its own, so one that ends within ``JOB_HEARTBEAT_S`` (most polls) costs
    two dictionary writes, not a thread's start and join. :meth:`stop` waits for a renewal of
    this job under way, so none is written after it returns.
    """

    def __init__(self, job: Job) -> None:
        self.job = job
        self.lost = False
        self.stopped = False
        self.due = 0.0  # time.monotonic() of the next renewal
        self.renewing = threading.Lock()  # held while this job's renewal is written

    def start(self) -> None:
        self.due = time.monotonic() + settings.JOB_HEARTBEAT_S
        _beater().add(self)

    def beat(self) -> None:
        """One renewal (on the beater's thread)."""
        if not self.renewing.acquire(timeout=5):  # pragma: no cover - stop() holds it briefly
            return
        try:
            if self.stopped or self.lost:
                return
            try:
                if _held_update(self.job, lease_until=_lease()) != 1:
                    self.lost = True
                    return
                for renew in list(getattr(self.job, RENEWALS, [])):
                    renew()
            except DatabaseError:  # the next beat tries again; the lease covers two misses
                logger.warning("job %s: heartbeat failed", self.job.pk, exc_info=True)
        finally:
            self.renewing.release()

    def stop(self) -> None:
        _beater().remove(self)
        if self.renewing.acquire(timeout=5):  # a renewal under way is written before we return
            self.stopped = True
            self.renewing.release()
        else:  # pragma: no cover - a renewal hung on the database: it writes nothing after it
            self.stopped = True


class _Beater(threading.Thread):
    """The process's heartbeat thread: renews each registered :class:`Heartbeat` when due."""

    def __init__(self) -> None:
        super().__init__(name="job-heartbeats", daemon=True)
        self.pid = os.getpid()
        self.changed = threading.Condition()
        self.beats: dict[int, Heartbeat] = {}  # id(heartbeat) -> heartbeat
        self.connected = False  # this thread's database connection may be open

    def add(self, heartbeat: Heartbeat) -> None:
        with self.changed:
            self.beats[id(heartbeat)] = heartbeat
            self.changed.notify()

    def remove(self, heartbeat: Heartbeat) -> None:
        with self.changed:
            self.beats.pop(id(heartbeat), None)
            if self.connected and not self.beats:
                self.changed.notify()  # the last job ended: its connection is closed

    def run(self) -> None:
        while True:
            with self.changed:
                now = time.monotonic()
                due = [beat for beat in self.beats.values() if beat.due <= now]
                if not due:
                    if self.connected and not self.beats:
                        connection.close()  # no job running here: its connection goes too
                        self.connected = False
                    nearest = min((beat.due for beat in self.beats.values()), default=None)
                    self.changed.wait(None if nearest is None else nearest - now)
                    continue
                for beat in due:
                    beat.due = now + settings.JOB_HEARTBEAT_S
                self.connected = True
            for beat in due:
                try:
                    beat.beat()
                except Exception:  # a renewal's bug: logged, the other jobs' beats go on
                    logger.exception("job %s: heartbeat failed", beat.job.pk)


_beaters: list[_Beater] = []  # this process's (one at most)
_beaters_lock = threading.Lock()


def _beater() -> _Beater:
    with _beaters_lock:
        if not _beaters or _beaters[0].pid != os.getpid() or not _beaters[0].is_alive():
            beater = _Beater()  # a forked process starts its own
            beater.start()
            _beaters[:] = [beater]
        return _beaters[0]


_handlers: dict[str, JobHandler] = {}  # dotted path -> handler, imported once


def _handler(path: str) -> JobHandler:
    found = _handlers.get(path)
    if found is None:
        found = _handlers[path] = import_string(path)
    return found


def job_run(*, job_id: int) -> str | None:
    """Claim and run one job through its handler; record the outcome on the job and its attempt."""
    claimed = _claim(job_id=job_id)
    if claimed is None:
        return None
    job, attempt, location_ghl_id = claimed
    # Every line logged during the run names the job, its attempt and its location (portal.logs).
    with log_context(
        job_id=job.pk,
        job_kind=job.kind,
        attempt=attempt.number,
        location_id=location_ghl_id if job.location_id else None,
    ):
        return _run_claimed(job, attempt)


def _run_claimed(job: Job, attempt: JobAttempt) -> str | None:
    setattr(job, RENEWALS, [])  # what job_on_heartbeat adds, for this run only
    setattr(job, SUCCESS_WRITES, [])  # what job_on_success adds, for this run only
    # Inside an outer transaction (tests, inline runs) another connection could not see the job.
    heartbeat = None if connection.in_atomic_block else Heartbeat(job)
    if heartbeat:
        heartbeat.start()
    run_attempt_set(attempt.pk)
    try:
        handler_path = JOB_HANDLERS.get(job.kind)
        if handler_path is None:
            raise JobError(f"No handler for {job.kind} jobs.")
        handler = _handler(handler_path)
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
        finished_at=DB_NOW,
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
        retry_at = DbNow(wait)
        fields.update(status=Job.Status.QUEUED, next_attempt_at=retry_at, sent_at=None)
        attempt_fields["retry_at"] = retry_at
    else:
        fields.update(
            status=Job.Status.DEAD if transient else Job.Status.FAILED, finished_at=DB_NOW
        )
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
    """The result write: fenced by the attempt's token, job and attempt together. Values are
    plain or :class:`DbNow` (the database's clock)."""
    with transaction.atomic():
        if _held_update(job, **job_fields) != 1:
            logger.warning("job %s: result refused, the lease is held by a newer run", job.pk)
            return None
        if job_fields["status"] == Job.Status.SUCCEEDED:
            for write in getattr(job, SUCCESS_WRITES, ()):
                write()
        row_update_where(
            model=JobAttempt,
            where={"pk": attempt.pk, "outcome": JobAttempt.Outcome.RUNNING},
            values={"ended_at": DB_NOW, **attempt_fields},
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
