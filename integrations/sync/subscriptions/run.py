"""A subscription's run: page through HighLevel, map each page into Rankr, checkpoint, finish.

A *pass* lists the trigger's records page by page, from the first page to the last; a run works on
one pass, starting it or resuming it from the checkpoint. Each page is applied in one transaction
together with the checkpoint (the request for the next page), fenced by the claim: a run that lost
its claim changes nothing, a run killed midway re-fetches at most the page it had not committed.
So no page is skipped and none is written twice.

A *full* pass (the first run's backfill, a requested backfill, the daily reconciliation) lists
everything, records progress, and at its end soft-deletes the Rankr records HighLevel no longer
lists. Other runs ask only for what changed since the last pass's high-water mark where the
trigger allows it (:mod:`.incremental`), else list everything and skip unchanged fingerprints.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import ExpressionWrapper, F, Q
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Now
from django.utils import timezone

from integrations.catalog.connections import connection_info
from integrations.catalog.named import named_get
from integrations.catalog.paging import DEFAULT_LIMIT, paging_next
from integrations.catalog.polling import FINGERPRINT, PollPlan, plan_records, poll_plan
from integrations.catalog.registry import Operation, operation_get
from integrations.catalog.services import call_send, operation_check, paging_start
from integrations.sync.job_runs import (
    JobSkipped,
    LeaseLost,
    job_checkpoint,
    job_error_transient,
    job_fence,
    job_on_heartbeat,
    job_on_success,
)
from integrations.sync.job_statements import DbNow, row_select, row_update_where
from integrations.sync.jobs import job_enqueue
from integrations.sync.leases import lease_end
from integrations.sync.models import Job, Subscription, SubscriptionSeen
from integrations.sync.subscriptions.counts import RunCounts
from integrations.sync.subscriptions.incremental import request_base, request_since
from integrations.sync.subscriptions.plan_run import plan_run, seen_add
from mappings.entities import ENTITIES, Entity
from mappings.models import MappingVersion
from mappings.services import mapping_page_apply, mapping_version_latest, time_parse
from portal.errors import PortalError
from rankr.models import RankrRecord
from rankr.services import TOMBSTONE

logger = logging.getLogger(__name__)

State = dict[str, Any]  # a pass's checkpoint as stored in Subscription.cursor ({} when none)
Result = dict[str, Any]  # what a run reports on its job

# What a run reads with its subscription (one statement, composed once).
RUN_RELATED = (
    "location",
    "mapping",
    "connection__app",
    "connection__location",
    "connection__agency",
)
RECONCILE_EVERY = timedelta(hours=24)  # a full pass at least this often catches deletions
FAILED_SAMPLE = 5  # unmappable records named in last_run_error


class SubscriptionError(PortalError):
    """The subscription cannot run as configured; the message says what to fix."""


class Superseded(Exception):
    """Another run holds the subscription now (this one's claim lapsed)."""


def run_budget_s() -> float:
    """How long one job pages before handing over to a continuation job: well inside the
    worker's task timeout, so a long backfill is never killed by it and a dead worker's slice is
    recovered after one job lease."""
    return float(settings.Q_CLUSTER["timeout"]) / 2


def subscription_job_handle(job: Job) -> Result:
    """JOB_HANDLERS entry for "poll" and "backfill" jobs."""
    return subscription_run(subscription_id=job.params["subscription_id"], job=job)


def subscription_run(
    *, subscription_id: int, job: Job, on_page: Callable[[Subscription], None] | None = None
) -> Result:
    """Run the subscription's pass (start or resume it) to its end. Returns the run's counts.

    ``on_page(subscription)`` is called after each committed page (the backfill command's bar).
    """
    if not _claim_for_job(subscription_id=subscription_id, job=job):
        holder = (
            Subscription.objects.filter(pk=subscription_id)
            .values_list("claimed_job_id", flat=True)
            .first()
        )
        raise JobSkipped(
            f"Superseded by job {holder}: it holds this subscription's run, which "
            "goes on from the checkpoint.",
            superseded_by=holder,
            result={"outcome": Subscription.Outcome.SUPERSEDED},
        )
    job_on_heartbeat(
        job=job,
        renew=lambda: Subscription.objects.filter(pk=subscription_id, claimed_job_id=job.pk).update(
            claimed_until=_running_lease()
        ),
    )
    subscription = row_select(model=Subscription, pk=subscription_id, related=RUN_RELATED)
    carried = job.params.get("carry") or {}
    counts = RunCounts(
        requests=carried.get("requests", 0),
        records=carried.get("records", 0),
        changed=carried.get("changed", 0),
        quarantined=carried.get("quarantined", 0),
    )
    try:
        continuation = _run(subscription=subscription, job=job, counts=counts, on_page=on_page)
    except Superseded:
        holder = (
            Subscription.objects.filter(pk=subscription_id)
            .values_list("claimed_job_id", flat=True)
            .first()
        )
        raise JobSkipped(
            f"Superseded by job {holder}: it took this subscription's run over and goes "
            "on from the checkpoint.",
            superseded_by=holder,
            result={"outcome": Subscription.Outcome.SUPERSEDED, **counts.as_result()},
        ) from None
    except LeaseLost:
        raise
    except Exception as exc:
        retrying = job_error_transient(exc) and job.attempts < job.max_attempts
        _finish(
            subscription,
            job,
            counts,
            outcome=Subscription.Outcome.FAILED,
            error=f"{exc.__class__.__name__}: {exc}",
            release=not retrying,
        )
        raise
    if continuation is not None:
        return {"outcome": "continued", "continuation_job": continuation.pk, **counts.as_result()}
    partial = counts.failed or counts.quarantined
    outcome = Subscription.Outcome.PARTIAL if partial else Subscription.Outcome.SUCCEEDED
    error = "; ".join(f"{ghl_id}: {message}" for ghl_id, message in counts.failed[:FAILED_SAMPLE])
    if counts.quarantined:
        error = "; ".join(
            filter(
                None,
                [f"{counts.quarantined} record(s) quarantined: see Quarantined records", error],
            )
        )
    _finish(subscription, job, counts, outcome=outcome, error=error, release=True, succeeded=True)
    return {"outcome": outcome, **counts.as_result()}


def _running_lease() -> "ExpressionWrapper[CombinedExpression]":
    """A running job holds its subscription as long as its own lease, renewed by its heartbeat."""
    return lease_end(seconds=settings.JOB_LEASE_S)


def _claim_for_job(*, subscription_id: int, job: Job) -> bool:
    """True when ``job`` holds the subscription: it was claimed for it, or is free to take."""
    held = row_update_where(
        model=Subscription,
        where={"pk": subscription_id, "claimed_job": job.pk},
        values={"claimed_until": DbNow(settings.JOB_LEASE_S)},
    )
    if held:
        return True
    return (
        Subscription.objects.filter(pk=subscription_id)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=Now()))
        .update(claimed_until=_running_lease(), claimed_job=job)
        == 1
    )


def _run(
    *,
    subscription: Subscription,
    job: Job,
    counts: RunCounts,
    on_page: Callable[[Subscription], None] | None,
) -> Job | None:
    """Page to the end of the pass; or, past the time budget, hand over and return the new job."""
    started = time.monotonic()
    named = named_get(subscription.trigger)
    plan = poll_plan(named)
    operation = operation_get(plan.operation)
    version = mapping_version_latest(mapping_id=subscription.mapping_id)
    if version is None:
        raise SubscriptionError(
            f"Mapping {subscription.mapping} has no saved version: save it once."
        )
    entity = ENTITIES[version.entity]
    if subscription.plan:  # a location-wide plan: its poll and its walk's share
        plan_run(
            subscription=subscription,
            job=job,
            version=version,
            entity=entity,
            counts=counts,
            commit=lambda **updates: _fenced_update(subscription, job, **updates),
            time_budget_s=run_budget_s(),
        )
        return None
    state = subscription.cursor or _pass_start(
        subscription=subscription, plan=plan, operation=operation, job=job
    )
    # The connection as the catalog sees it, read once per run (scopes, token type, locationId);
    # each page is checked against the spec and sent through the door, as operation_run does.
    info = connection_info(subscription.connection)
    while True:
        call = operation_check(
            connection=info, operation_id=operation.key, params=state["params"], body=state["body"]
        )
        response = call_send(connection_id=subscription.connection_id, call=call, job_id=job.pk)
        counts.requests += 1
        records = plan_records(plan, response.data)
        following = paging_next(
            paging=operation.paging,
            params=state["params"],
            body=state["body"],
            data=response.data,
            limit=state["limit"],
        )
        state = _page_commit(
            subscription=subscription,
            job=job,
            plan=plan,
            entity=entity,
            version=version,
            state=state,
            data=response.data,
            records=records,
            following=following,
            counts=counts,
        )
        if on_page is not None:
            subscription.refresh_from_db()
            on_page(subscription)
        if not state:
            return None
        if time.monotonic() - started > run_budget_s():
            return _hand_over(subscription=subscription, job=job, counts=counts)


def _hand_over(*, subscription: Subscription, job: Job, counts: RunCounts) -> Job:
    """Give the claim to a continuation job, which resumes from the checkpoint."""
    with transaction.atomic():
        following = job_enqueue(
            kind=job.kind,
            idempotency_key=f"subscription:{subscription.pk}:continue:{job.pk}",
            location_id=subscription.location_id,
            connection_id=subscription.connection_id,
            operation=subscription.operation,
            subject=f"subscription {subscription.pk}",
            params={**job.params, "continues": job.pk, "carry": counts.as_result()},
        )
        _fenced_update(subscription, job, claimed_job=following)
    return following


def _pass_start(
    *, subscription: Subscription, plan: PollPlan, operation: Operation, job: Job
) -> State:
    now = timezone.now()
    reconcile_due = (
        subscription.backfill_finished_at is not None
        and now - subscription.backfill_finished_at >= RECONCILE_EVERY
    )
    full = (
        subscription.backfill_finished_at is None
        or subscription.full_pass_requested
        or job.kind == "backfill"
        or reconcile_due
    )
    params, body = request_base(
        operation=operation,
        parameters=subscription.parameters or {},
        location_ghl_id=subscription.location.location_id,
    )
    narrowed = (
        None
        if full
        else request_since(
            operation=operation, params=params, body=body, watermark=subscription.watermark
        )
    )
    if narrowed is not None:
        params, body = narrowed
    params, body, limit = paging_start(
        operation=operation, params=params, body=body, limit=DEFAULT_LIMIT
    )
    state = {
        "full": full,
        "since": narrowed is not None,
        "params": params,
        "body": body,
        "limit": limit,
        "high": subscription.watermark,
        "started_at": now.isoformat(),
    }
    if full:  # an incremental pass is recorded with its first page: a crash before it loses nothing
        with transaction.atomic():
            SubscriptionSeen.objects.filter(subscription=subscription).delete()
            _fenced_update(
                subscription,
                job,
                cursor=state,
                backfill_started_at=now,
                backfill_finished_at=None,
                backfill_pages=0,
                backfill_records=0,
                backfill_total=None,
            )
    return state


def _page_commit(
    *,
    subscription: Subscription,
    job: Job,
    plan: PollPlan,
    entity: Entity,
    version: MappingVersion,
    state: State,
    data: Any,
    records: list[Any],
    following: tuple[dict[str, Any], dict[str, Any]] | None,
    counts: RunCounts,
) -> State:
    """Apply one page and move the checkpoint past it, in one transaction, with the job's own
    record of progress (the last page's goes with the outcome). Returns the new state."""
    now = timezone.now()
    high = state["high"]
    if plan.change_key != FINGERPRINT:
        stamps = [r.get(plan.change_key) for r in records if isinstance(r, dict)]
        high = max([s for s in stamps if isinstance(s, str) and s] + [high or ""]) or ""
    reported = job.result
    try:
        with transaction.atomic():
            page = (
                mapping_page_apply(
                    mapping_version=version,
                    location_id=subscription.location_id,
                    records=records,
                    source=job.kind,
                    job_id=job.pk,
                )
                if records
                else None
            )
            if state["full"] and records:
                seen_add(subscription_id=subscription.pk, records=records, id_path=entity.id_path)
            updates: dict[str, Any] = {}
            new_state: State
            if following is not None:
                params, body = following
                new_state = {**state, "params": params, "body": body, "high": high}
                updates["cursor"] = new_state
            else:
                new_state = {}
                updates.update(cursor={}, watermark=high[:64])
                if state["full"]:
                    if subscription.reconcile_deletions and entity.rankr_model is not None:
                        _deletions_sweep(
                            subscription=subscription,
                            model=entity.rankr_model,
                            now=now,
                            started=time_parse(state.get("started_at")),
                        )
                    SubscriptionSeen.objects.filter(subscription=subscription).delete()
                    updates.update(backfill_finished_at=now, full_pass_requested=False)
            if state["full"]:
                updates.update(
                    backfill_pages=F("backfill_pages") + 1,
                    backfill_records=F("backfill_records") + len(records),
                )
                total = _total(data)
                if total is not None:
                    updates["backfill_total"] = total
            after = replace(counts, failed=list(counts.failed))
            after.records += len(records)
            if page is not None:
                after.changed += page.counts.created + page.counts.updated
                after.failed.extend(page.failed)
                after.quarantined += page.quarantined
            _fenced_update(
                subscription, job, checkpoint=after.as_result() if new_state else None, **updates
            )
    except BaseException:
        job.result = reported  # the checkpoint written in the page's transaction is undone too
        raise
    counts.records, counts.changed = after.records, after.changed
    counts.failed, counts.quarantined = after.failed, after.quarantined
    return new_state


def _fenced_update(
    subscription: Subscription, job: Job, checkpoint: Result | None = None, **updates: Any
) -> None:
    """Write the subscription only while ``job`` holds it and this attempt holds ``job`` (its
    fencing token): a worker that lost its lease cannot write over its successor. With
    ``checkpoint``, the fence writes it as the job's result so far (one statement, not two)."""
    if checkpoint is None:
        job_fence(job=job)
    else:
        job_checkpoint(job=job, result=checkpoint)
    if _subscription_held_update(subscription, job, **updates) != 1:
        raise Superseded


def _subscription_held_update(subscription: Subscription, job: Job, **updates: Any) -> int:
    """Write ``updates`` (and renew the claim) while ``job`` holds the subscription: one
    statement composed once when the values are plain, else through the ORM (``F()``)."""
    if any(hasattr(value, "resolve_expression") for value in updates.values()):  # as Django tells
        return Subscription.objects.filter(pk=subscription.pk, claimed_job_id=job.pk).update(
            claimed_until=_running_lease(), **updates
        )
    return row_update_where(
        model=Subscription,
        where={"pk": subscription.pk, "claimed_job": job.pk},
        values={"claimed_until": DbNow(settings.JOB_LEASE_S), **updates},
    )


def _deletions_sweep(
    *,
    subscription: Subscription,
    model: type[RankrRecord],
    now: datetime,
    started: datetime | None = None,
) -> int:
    """Soft-delete the location's live records of this kind that the pass did not list.

    A record whose version is newer than the pass's start (a webhook brought it meanwhile) was
    not deleted, just not there yet when its page was read: it stays. The tombstones are dated
    the pass's start, so no older version revives them.
    """
    seen = SubscriptionSeen.objects.filter(subscription=subscription).values("ghl_id")
    started = started or now
    return (
        model.objects.filter(
            location_id=subscription.location_id, deleted_at__isnull=True, ghl_id__isnull=False
        )
        .exclude(ghl_id__in=seen)
        .exclude(source_changed_at__gt=started)
        .update(
            deleted_at=now,
            fingerprint="",
            updated_at=now,
            source_changed_at=started,
            source_tiebreak=TOMBSTONE,
        )
    )


def _total(data: Any) -> int | None:
    """HighLevel's count of all records, where the answer carries one."""
    if not isinstance(data, dict):
        return None
    meta = data.get("meta")
    if not isinstance(meta, dict):
        meta = {}
    for value in (data.get("total"), meta.get("total"), data.get("count")):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _finish(
    subscription: Subscription,
    job: Job,
    counts: RunCounts,
    *,
    outcome: str,
    error: str = "",
    release: bool,
    succeeded: bool = False,
) -> None:
    """Record the run's outcome on the subscription (and release its claim), fenced. A run
    that ``succeeded`` writes it with the job's own success (:func:`job_on_success`)."""
    now = timezone.now()
    updates: dict[str, Any] = dict(
        last_run_at=now,
        last_run_outcome=outcome,
        last_run_requests=counts.requests,
        last_run_records=counts.records,
        last_run_changed=counts.changed,
        last_run_error=error[:4000],
    )
    if outcome in (Subscription.Outcome.SUCCEEDED, Subscription.Outcome.PARTIAL):
        updates["last_success_at"] = now
    if release:
        updates.update(claimed_until=None, claimed_job=None)

    def write() -> None:
        row_update_where(
            model=Subscription, where={"pk": subscription.pk, "claimed_job": job.pk}, values=updates
        )

    if succeeded and job_on_success(job=job, write=write):
        return
    with transaction.atomic():
        try:
            job_fence(job=job)
        except LeaseLost:
            return  # a newer run holds the job: its outcome is its own to write
        write()
