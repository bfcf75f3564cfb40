"""Jobs: enqueue, send, retry, re-run, recover.

Every poll, backfill, action, webhook, resync, Rankr event and location-connection batch runs as a
:class:`Job`; each run of it is a :class:`JobAttempt` (:mod:`.job_runs`: claim, heartbeat lease,
fenced writes). Our own policy decides what is retried: a transient HighLevel error (429, 5xx,
network) puts the job back in the queue after a backoff; a permanent one (404, 422, missing scope,
needs re-auth) fails it; running out of attempts makes it dead. django-q2 only carries job ids;
the tick (:func:`jobs_dispatch_due`) sends what is due, what the broker never took, and what a
dead worker left behind.

Handlers live in the code that owns the work and are listed in ``JOB_HANDLERS`` (kind -> dotted
path), one explicit table. A handler gets the claimed job, may record progress with
:func:`job_checkpoint` (so a re-run knows what already reached HighLevel), and returns its result.
"""

import logging
from contextlib import nullcontext
from datetime import timedelta
from functools import cache
from typing import Any, Literal, Required, TypedDict, Unpack

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone

from integrations.sync.job_runs import (  # the jobs API, in one place
    JOB_HANDLERS,
    RETRY_CAP_SECONDS,
    JobError,
    JobSkipped,
    LeaseLost,
    job_backoff,
    job_checkpoint,
    job_claim,
    job_fence,
    job_on_heartbeat,
    job_on_success,
    job_run,
    jobs_recover,
)
from integrations.sync.leases import db_ago
from integrations.sync.models import Job, JobAttempt
from portal.broker import tasks_push
from portal.models import AuditEvent

__all__ = [
    "JOB_HANDLERS",
    "RETRY_CAP_SECONDS",
    "JobError",
    "JobSkipped",
    "LeaseLost",
    "job_backoff",
    "job_checkpoint",
    "job_claim",
    "job_enqueue",
    "job_fence",
    "job_last_permanent_error",
    "job_on_heartbeat",
    "job_on_success",
    "job_rerun",
    "job_retry_now",
    "job_run",
    "job_send",
    "job_send_in_transaction",
    "jobs_dispatch_due",
    "jobs_enqueue",
    "jobs_queue_in_database",
    "jobs_recover",
    "jobs_send",
]

logger = logging.getLogger(__name__)


class JobFields(TypedDict, total=False):
    """A new job's columns, as :func:`job_enqueue` takes them (checked by ``_job_fields``)."""

    kind: Required[str]
    location_id: int | None
    connection_id: int | None
    operation: str
    subject: str
    params: dict[str, Any] | None
    user_id: int | None
    max_attempts: int
    mapping_version_id: int | None


def job_enqueue(*, idempotency_key: str, send: bool = True, **fields: Unpack[JobFields]) -> Job:
    """Create the job for ``idempotency_key`` (once) and hand it to the worker after commit.

    Asking again with the same key returns the existing job and enqueues nothing new. With
    ``send=False`` the caller sends it (:func:`job_send`) and learns whether the broker took it.
    """
    job, created = Job.objects.get_or_create(
        idempotency_key=idempotency_key, defaults=_job_fields(**fields)
    )
    if created and not _jobs_refused_for_reauth([job]) and send:
        _send_after_commit(job.pk)
    return job


def jobs_enqueue(*, jobs: list[dict[str, Any]]) -> list[Job]:
    """:func:`job_enqueue` for many jobs at once (each a dict of its keyword arguments, without
    ``send``): one read for the keys that exist, one insert for the rest, one re-auth check and
    one hand-over to the broker after commit. Returns the jobs in the order asked."""
    keys = [spec["idempotency_key"] for spec in jobs]
    found = {job.idempotency_key: job for job in Job.objects.filter(idempotency_key__in=keys)}
    new = [
        Job(
            idempotency_key=spec["idempotency_key"],
            **_job_fields(**{k: v for k, v in spec.items() if k != "idempotency_key"}),
        )
        for spec in jobs
        if spec["idempotency_key"] not in found
    ]
    if len({job.idempotency_key for job in new}) != len(new):
        raise JobError("The same idempotency key was asked for twice in one batch.")
    created = Job.objects.bulk_create(new)
    if created and created[0].pk is None:  # a database that does not return ids (not ours)
        created = list(Job.objects.filter(idempotency_key__in=[job.idempotency_key for job in new]))
    refused = _jobs_refused_for_reauth(created)
    sending = [job.pk for job in created if job.pk not in refused]
    if sending:
        transaction.on_commit(lambda: jobs_send(job_ids=sending))
    found.update((job.idempotency_key, job) for job in created)
    return [found[key] for key in keys]


def _job_fields(
    *,
    kind: str,
    location_id: int | None = None,
    connection_id: int | None = None,
    operation: str = "",
    subject: str = "",
    params: dict[str, Any] | None = None,
    user_id: int | None = None,
    max_attempts: int = 5,
    mapping_version_id: int | None = None,
) -> dict[str, Any]:
    """A new job's columns (its key aside), checked."""
    if kind not in Job.Kind.values:
        raise JobError(f"Unknown job kind {kind!r}.")
    return dict(
        kind=kind,
        location_id=location_id,
        connection_id=connection_id,
        operation=operation,
        subject=subject,
        params=params or {},
        created_by_id=user_id,
        max_attempts=min(max_attempts, settings.JOB_MAX_ATTEMPTS),
        mapping_version_id=mapping_version_id,
    )


def _jobs_refused_for_reauth(jobs: list[Job]) -> set[int]:
    """New jobs for a connection that needs re-auth fail at once, saying so (nothing is sent).
    Returns their ids. One query for the lot, however many connections they name."""
    from integrations.ghl.models import Connection
    from integrations.sync.connections import connection_reauth_message

    connection_ids = {job.connection_id for job in jobs if job.connection_id is not None}
    if not connection_ids:
        return set()
    stale = {
        connection.pk: connection
        for connection in Connection.objects.select_related("app", "agency", "location").filter(
            pk__in=connection_ids, status=Connection.Status.NEEDS_REAUTH
        )
    }
    refused = set()
    for job in jobs:
        connection = stale.get(job.connection_id) if job.connection_id else None
        if connection is None:
            continue
        job.status = Job.Status.FAILED
        job.finished_at = timezone.now()
        job.error_class = "GhlReauthRequired"
        job.error_message = connection_reauth_message(connection=connection)
        job.save(update_fields=["status", "finished_at", "error_class", "error_message"])
        refused.add(job.pk)
    return refused


def _send_after_commit(job_id: int) -> None:
    transaction.on_commit(lambda: job_send(job_id=job_id))


# Job tasks are sent with save=False: the job and its attempts are the record of the run.
# django-q2's monitor would also save a success row per message, pruning them to Q_SAVE_LIMIT by
# loading every saved one each time, in the cluster's single monitor process: that capped a
# backlog's drain at ~10 jobs/s. A task that crashes is still saved as a failure.


def job_send(*, job_id: int, marked: bool = False) -> bool:
    """Hand a job id to the broker. False (logged, never raised) when the broker is unreachable:
    the job stays queued and unsent, and the tick sends it again later.

    When :func:`jobs_queue_in_database`, the queue entry and the job's ``sent_at`` are written in
    one transaction; called inside the transaction that made the job, they commit with it (in a
    savepoint, so a refused entry leaves the caller's transaction usable). ``marked``: the job's
    ``sent_at`` was written with the job (:func:`job_send_in_transaction`); a refused send clears it.
    """
    from django_q.tasks import async_task

    try:
        broker = _job_broker()
        in_database = _queue_in_database(broker)
        in_transaction = in_database or transaction.get_connection().in_atomic_block
        with transaction.atomic() if in_transaction else nullcontext():
            async_task(  # save=False: see above job_send
                "integrations.interfaces.tasks.job_run_task",
                job_id,
                group="jobs",
                broker=broker,
                save=False,
            )
            if in_database:
                Job.objects.filter(pk=job_id).update(sent_at=Now())
    except Exception:  # redis errors, the ORM broker's database errors: the job row is kept
        logger.warning(
            "job %s: the broker did not take it; the tick sends it again", job_id, exc_info=True
        )
        if marked:
            Job.objects.filter(pk=job_id).update(sent_at=None)
        return False
    if not in_database and not marked:
        Job.objects.filter(pk=job_id).update(sent_at=Now())
    return True


def jobs_send(*, job_ids: list[int]) -> int:
    """Hand job ids to the broker in one go (one Redis command; one transaction on the ORM
    broker) and mark them sent with one update. Returns how many the broker took: all, or 0
    when it is unreachable (logged, never raised; the jobs stay queued and unsent, and the tick
    sends them again later)."""
    if not job_ids:
        return 0
    try:
        tasks_push(  # save=False: see above job_send
            "integrations.interfaces.tasks.job_run_task",
            [(job_id,) for job_id in job_ids],
            broker=_job_broker(),
            group="jobs",
            save=False,
        )
    except Exception:  # redis errors, the ORM broker's database errors: the job rows are kept
        logger.warning(
            "jobs %s: the broker did not take them; the tick sends them again",
            _ids_text(job_ids),
            exc_info=True,
        )
        return 0
    Job.objects.filter(pk__in=job_ids).update(sent_at=Now())
    return len(job_ids)


def _ids_text(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:10])
    return shown if len(ids) <= 10 else f"{shown} and {len(ids) - 10} more"


def job_send_in_transaction(*, job_id: int) -> Literal["sent", "refused", "marked"]:
    """Send a job from inside the transaction that made it, with no commit of its own.

    A queue in the database takes it in this transaction ("sent", or "refused" when it did not:
    the caller sends it after the commit). Any other broker can take it only once the job is
    committed: the job is marked sent in this transaction ("marked") and the caller sends it
    after the commit with ``job_send(marked=True)``, which clears the mark if the broker refuses.
    Should the process die between the commit and the send, the mark is old after
    ``JOB_RESEND_AFTER_S`` and the tick sends the job, as it does a job a broker lost.
    """
    if jobs_queue_in_database():
        return "sent" if job_send(job_id=job_id) else "refused"
    Job.objects.filter(pk=job_id).update(sent_at=Now())
    return "marked"


def jobs_queue_in_database() -> bool:
    """Whether the broker's queue is a table of the jobs' database (django-q2's ORM broker, tasks
    not run inline): a job sent inside the transaction that made it is then queued by that
    transaction's commit, with no commit of its own and no window between the two."""
    return _queue_in_database(_job_broker())


def _queue_in_database(broker: Any) -> bool:
    from django_q.brokers.orm import ORM
    from django_q.conf import Conf

    return not Conf.SYNC and Conf.ORM == Job.objects.db and isinstance(broker, ORM)


def _job_broker() -> Any:
    """The broker, made once per process and configuration: django-q2 makes one per task
    otherwise (a new Redis connection pool per job sent; the ORM broker closes the thread's
    database connection when it is made)."""
    from django_q.conf import Conf

    return _broker_for(Conf.CLUSTER_NAME, Conf.BROKER_CLASS, Conf.ORM, repr(Conf.REDIS))


@cache
def _broker_for(*configuration: object) -> Any:
    from django_q.brokers import get_broker

    return get_broker()


def job_retry_later(*, job_id: int, error: Exception, delay_s: float = 0.0) -> None:
    """Put a job (e.g. a Run action whose answer was lost) back in the queue to try again itself.

    Its attempts start over (up to ``JOB_MAX_ATTEMPTS``); the error stays on it until it runs.
    """
    now = timezone.now()
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.QUEUED,
        attempts=0,
        max_attempts=settings.JOB_MAX_ATTEMPTS,
        next_attempt_at=now + timedelta(seconds=delay_s),
        finished_at=None,
        lease_until=None,
        error_class=error.__class__.__name__[:100],
        error_message=str(error)[:2000],
    )
    _send_after_commit(job_id)


def job_rerun(*, job_ids: list[int], user_id: int | None) -> int:
    """Queue failed, dead or skipped jobs again: same rows and idempotency keys, a new attempt
    each; earlier attempts stay as they were. Returns how many."""
    count = 0
    with transaction.atomic():
        jobs = list(
            Job.objects.select_for_update().filter(
                pk__in=job_ids, status__in=[Job.Status.FAILED, Job.Status.DEAD, Job.Status.SKIPPED]
            )
        )
        for job in jobs:
            Job.objects.filter(pk=job.pk).update(
                status=Job.Status.QUEUED,
                attempts=0,
                reruns=F("reruns") + 1,
                next_attempt_at=None,
                finished_at=None,
                sent_at=None,
            )
            AuditEvent.objects.create(
                actor_id=user_id,
                action="job.rerun",
                location_id=job.location_id,
                target=f"job {job.pk}",
                detail={"kind": job.kind, "previous_status": job.status},
            )
            _send_after_commit(job.pk)
            count += 1
    return count


def job_retry_now(*, job_id: int, user_id: int | None) -> bool:
    """A job waiting to retry is made due now and sent. False when it is not waiting."""
    with transaction.atomic():
        moved = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
            next_attempt_at=Now(), sent_at=None
        )
        if not moved:
            return False
        job = Job.objects.get(pk=job_id)
        AuditEvent.objects.create(
            actor_id=user_id,
            action="job.retry_now",
            location_id=job.location_id,
            target=f"job {job.pk}",
            detail={"kind": job.kind, "attempts": job.attempts},
        )
        _send_after_commit(job_id)
    return True


def job_last_permanent_error(*, job: Job) -> JobAttempt | None:
    """The last attempt when it failed permanently (a re-run would likely fail again), else None."""
    last = JobAttempt.objects.filter(job=job).order_by("-number").first()
    if last and last.outcome == JobAttempt.Outcome.FAILED and last.permanent:
        return last
    if last is None and job.status == Job.Status.FAILED and job.error_class:
        return JobAttempt(
            job=job,
            error_class=job.error_class,
            error_message=job.error_message,
            permanent=True,
            outcome=JobAttempt.Outcome.FAILED,
        )
    return None


def jobs_dispatch_due(*, limit: int = 500) -> int:
    """The tick: recover jobs whose worker died (lease passed on the database's clock), send due
    retries, and send again jobs the broker never took or lost (``JOB_RESEND_AFTER_S``).

    A job sent twice is harmless: only one claim succeeds.
    """
    recovered = jobs_recover(limit=limit)
    resend_before = db_ago(seconds=settings.JOB_RESEND_AFTER_S)
    never_sent = Q(sent_at__isnull=True) & (
        Q(next_attempt_at__lte=Now()) | Q(next_attempt_at__isnull=True, queued_at__lt=resend_before)
    )
    due = list(
        Job.objects.filter(status=Job.Status.QUEUED)
        .filter(
            never_sent
            | Q(sent_at__lt=resend_before, next_attempt_at__lte=Now())
            | Q(sent_at__lt=resend_before, next_attempt_at__isnull=True)
        )
        .exclude(pk__in=recovered)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for job_id in [*recovered, *due]:
        if not job_send(job_id=job_id):
            break  # the broker is down: the next tick tries again
    return len(recovered) + len(due)
