"""A location-wide plan's run: the poll (what changed, the cheap way) and a slice of the walk.

Each run of a plan subscription first *polls* as its entity's plan says (:mod:`.plans`):

- ``INCREMENTAL``: records modified since the mark, minus the plan's overlap;
- ``FANOUT``: the contacts modified since the mark, then each one's children (all of them, so a
  child gone from a changed contact is soft-deleted at once);
- ``HORIZON``: the calendars (re-listed each run), then each calendar's events from the day of
  the checkpoint (minus the overlap) to the horizon's future bound, days in the location's time
  zone;
- ``LISTING``: nothing beyond the walk (the walk *is* the location-wide listing).

Then it advances the *reconciliation walk* by its share: the requests one complete walk takes
times the time since the last run over the window (:func:`.plans.reconcile_window_s`). The walk
lists every parent (every page of contacts and each one's notes, every page of tasks, each
calendar's whole horizon), remembers what it saw (``SubscriptionSeen``), and at its end
soft-deletes what it did not see and was not changed since the walk began, and records the
coverage (``EntityCoverage``). A backfill (first run, requested) walks everything in one run.
Records go through ``mapping_page_apply`` like any polled page: fingerprint skip, newest wins.
"""

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone

from integrations.catalog.connections import connection_info
from integrations.catalog.paging import DEFAULT_LIMIT, paging_next
from integrations.catalog.registry import operation_get
from integrations.catalog.services import call_send, operation_check, paging_start
from integrations.ghl.ratelimit import ratelimit_bulk
from integrations.sync.models import EntityCoverage, Job, Subscription, SubscriptionSeen
from integrations.sync.subscriptions.counts import RunCounts
from integrations.sync.subscriptions.incremental import request_base, request_since
from integrations.sync.subscriptions.plans import (
    plan_choose,
    reconcile_window_s,
    walk_requests_estimate,
)
from mappings.entities import FANOUT, HORIZON, INCREMENTAL, Entity, LocationPlan
from mappings.models import MappingVersion
from mappings.rules import path_get
from mappings.services import mapping_page_apply, time_parse
from portal.bulk import rows_insert_tuples
from rankr.models import RECORD_MODELS
from rankr.services import TOMBSTONE

CONTACTS_SEARCH = "POST /contacts/search"
CONTACT_PARAM = "contactId"
# Fields of the child record models (not of every Rankr record: filtered by name).
CONTACT_FIELD = "contact_ghl_id"
STARTS_FIELD = "starts_at"

Commit = Callable[..., None]


@dataclass
class _Run:
    subscription: Subscription
    job: Job
    plan: LocationPlan
    entity: Entity
    version: MappingVersion
    counts: RunCounts
    commit: Commit
    started: float
    time_budget_s: float
    poll_requests: int = 0
    walk_requests: int = 0

    @property
    def location_ghl_id(self) -> str:
        return self.subscription.location.location_id

    def send(self, operation_key: str, params: dict[str, Any], body: Any, *, walk: bool) -> Any:
        info = connection_info(self.subscription.connection)
        call = operation_check(
            connection=info, operation_id=operation_key, params=params, body=body
        )
        with ratelimit_bulk(walk):  # the walk leaves the rate limit's reserve to polls
            response = call_send(
                connection_id=self.subscription.connection_id, call=call, job_id=self.job.pk
            )
        self.counts.requests += 1
        if walk:
            self.walk_requests += 1
        else:
            self.poll_requests += 1
        return response.data

    def pages(
        self, operation_key: str, params: dict[str, Any], body: Any, *, walk: bool
    ) -> Iterator[tuple[list[Any], tuple[dict[str, Any], Any] | None]]:
        """Each page's records and the request for the next page (None after the last)."""
        operation = operation_get(operation_key)
        params, body, limit = paging_start(
            operation=operation, params=params, body=body, limit=DEFAULT_LIMIT
        )
        while True:
            data = self.send(operation_key, params, body, walk=walk)
            records = _records(data, operation_key)
            following = paging_next(
                paging=operation.paging, params=params, body=body, data=data, limit=limit
            )
            yield records, following
            if following is None:
                return
            params, body = following

    def apply(self, records: list[Any], *, seen: bool) -> None:
        """Map ``records`` into Rankr (one transaction); remember their ids for the walk."""
        if not records:
            return
        with transaction.atomic():
            page = mapping_page_apply(
                mapping_version=self.version,
                location_id=self.subscription.location_id,
                records=records,
                source=self.job.kind,
                job_id=self.job.pk,
            )
            if seen:
                seen_add(
                    subscription_id=self.subscription.pk,
                    records=records,
                    id_path=self.entity.id_path,
                )
        self.counts.records += len(records)
        self.counts.changed += page.counts.created + page.counts.updated
        self.counts.failed.extend(page.failed)
        self.counts.quarantined += page.quarantined

    def out_of_time(self) -> bool:
        return time.monotonic() - self.started > self.time_budget_s


def seen_add(*, subscription_id: int, records: list[Any], id_path: str) -> None:
    """Note the HighLevel ids a full pass listed (its deletion sweep spares them)."""
    ids = {path_get(r, id_path) for r in records if isinstance(r, dict)}
    rows_insert_tuples(
        model=SubscriptionSeen,
        columns=("subscription_id", "ghl_id"),
        rows=[(subscription_id, i) for i in ids if isinstance(i, str) and i],
        ignore_conflicts=True,
    )


def _records(data: Any, operation_key: str) -> list[Any]:
    if not isinstance(data, dict):
        return data if isinstance(data, list) else []
    for key, value in data.items():
        if isinstance(value, list) and (not value or isinstance(value[0], dict)):
            if key != "meta":
                return value
    return []


def plan_run(
    *,
    subscription: Subscription,
    job: Job,
    version: MappingVersion,
    entity: Entity,
    counts: RunCounts,
    commit: Commit,
    time_budget_s: float,
) -> None:
    """One run of a plan subscription: its poll, then its walk's share (all of it on backfill)."""
    choice = plan_choose(entity=subscription.plan, granted=subscription.connection.scope_set)
    if choice is None:
        raise KeyError(f"{subscription.plan!r} has no location-wide plan.")
    run = _Run(
        subscription=subscription,
        job=job,
        plan=choice.plan,
        entity=entity,
        version=version,
        counts=counts,
        commit=commit,
        started=time.monotonic(),
        time_budget_s=time_budget_s,
    )
    now = timezone.now()
    coverage, _ = EntityCoverage.objects.get_or_create(
        location_id=subscription.location_id, entity=subscription.plan
    )
    backfill = (
        subscription.backfill_finished_at is None
        or subscription.full_pass_requested
        or job.kind == Job.Kind.BACKFILL
    )
    if not backfill:
        _poll(run, now=now)
    walk_done = _walk(run, coverage=coverage, now=now, complete=backfill)
    updates: dict[str, Any] = {}
    if walk_done and backfill:
        updates.update(backfill_finished_at=timezone.now(), full_pass_requested=False)
        if subscription.backfill_started_at is None:
            updates["backfill_started_at"] = now
    if run.plan.kind == HORIZON or (backfill and walk_done):
        # The next poll asks from here (the walk saw everything up to its start).
        mark = _iso(coverage.last_full_pass_at if backfill and walk_done else now)
        if run.plan.kind == HORIZON or not subscription.watermark or mark > subscription.watermark:
            updates["watermark"] = mark
    if updates:
        commit(**updates)
    counts.extra.update(
        plan=run.plan.kind,
        fallback=choice.fallback,
        poll_requests=run.poll_requests,
        walk_requests=run.walk_requests,
        walk_done=walk_done,
    )


# The poll ---------------------------------------------------------------------------------------


def _poll(run: _Run, *, now: datetime) -> None:
    kind = run.plan.kind
    if kind == INCREMENTAL:
        _poll_incremental(run)
    elif kind == FANOUT:
        _poll_fanout(run)
    elif kind == HORIZON:
        _poll_horizon(run, now=now)


def _since(run: _Run) -> str:
    mark = run.subscription.watermark
    moment = time_parse(mark) if mark else None
    if moment is None:
        return ""
    return _iso(moment - timedelta(seconds=run.plan.overlap_s))


def _changed_pages(
    run: _Run, operation_key: str, since: str
) -> Iterator[tuple[list[Any], tuple[dict[str, Any], Any] | None]]:
    operation = operation_get(operation_key)
    params, body = request_base(
        operation=operation, parameters={}, location_ghl_id=run.location_ghl_id
    )
    narrowed = request_since(operation=operation, params=params, body=body, watermark=since)
    if narrowed is None:
        raise ValueError(f"{operation_key} cannot ask for changes since a mark.")
    params, body = narrowed
    return run.pages(operation_key, params, body, walk=False)


def _high(records: list[Any], high: str) -> str:
    stamps = [r.get("dateUpdated") for r in records if isinstance(r, dict)]
    return max([s for s in stamps if isinstance(s, str) and s] + [high or ""]) or ""


def _poll_incremental(run: _Run) -> None:
    since = _since(run)
    if not since:
        return
    high = run.subscription.watermark
    for records, _following in _changed_pages(run, run.plan.operation, since):
        run.apply(records, seen=False)
        high = _high(records, high)
    if high and high != run.subscription.watermark:
        run.commit(watermark=high[:64])
        run.subscription.watermark = high[:64]


def _poll_fanout(run: _Run) -> None:
    since = _since(run)
    if not since:
        return
    high = run.subscription.watermark
    for contacts, _following in _changed_pages(run, CONTACTS_SEARCH, since):
        for contact in contacts:
            if isinstance(contact, dict) and contact.get("id"):
                _children(run, contact_id=contact["id"], walk=False)
        high = _high(contacts, high)
    if high and high != run.subscription.watermark:
        run.commit(watermark=high[:64])
        run.subscription.watermark = high[:64]


def _children(run: _Run, *, contact_id: str, walk: bool) -> None:
    """All of one contact's children; those Rankr holds for it and HighLevel no longer lists
    (and not changed since this read began) are soft-deleted."""
    read_at = timezone.now()
    records: list[Any] = []
    for page, _following in run.pages(
        run.plan.operation, {CONTACT_PARAM: contact_id}, None, walk=walk
    ):
        records.extend(
            {**r, CONTACT_PARAM: r.get(CONTACT_PARAM) or contact_id}
            for r in page
            if isinstance(r, dict)
        )
    run.apply(records, seen=walk)
    model = RECORD_MODELS.get(run.entity.key)
    if model is None or not hasattr(model, CONTACT_FIELD):
        return
    listed = {path_get(r, run.entity.id_path) for r in records}
    stale = (
        model.objects.filter(
            location_id=run.subscription.location_id,
            deleted_at__isnull=True,
            ghl_id__isnull=False,
        )
        .filter(**{CONTACT_FIELD: contact_id})
        .exclude(ghl_id__in=[i for i in listed if isinstance(i, str)])
        .exclude(source_changed_at__gt=read_at)
    )
    _soft_delete(stale, at=read_at)


def _tz(run: _Run) -> ZoneInfo:
    try:
        return ZoneInfo(run.subscription.location.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _day_start(moment: datetime, tz: ZoneInfo) -> datetime:
    local = moment.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def horizon_window(
    *, plan: LocationPlan, now: datetime, tz: ZoneInfo, since: datetime | None
) -> tuple[datetime, datetime]:
    """The window a horizon run asks each calendar for: from the day of ``since`` (the checkpoint
    minus the overlap; the past bound when None or older) to the end of the future bound's day,
    in the location's time zone."""
    past, future = plan.horizon_days
    lower = _day_start(now - timedelta(days=past), tz)
    if since is not None:
        lower = max(lower, _day_start(since, tz))
    upper = _day_start(now + timedelta(days=future + 1), tz)
    return lower, upper


def _calendars(run: _Run, *, walk: bool) -> list[str]:
    data = run.send(run.plan.calendars, {"locationId": run.location_ghl_id}, None, walk=walk)
    rows = data.get(run.plan.calendars_records) if isinstance(data, dict) else None
    return [c["id"] for c in rows or [] if isinstance(c, dict) and c.get("id")]


def _events(run: _Run, *, calendar_id: str, lower: datetime, upper: datetime, walk: bool) -> None:
    params = {
        "locationId": run.location_ghl_id,
        "calendarId": calendar_id,
        "startTime": str(int(lower.timestamp() * 1000)),
        "endTime": str(int(upper.timestamp() * 1000)),
    }
    data = run.send(run.plan.operation, params, None, walk=walk)
    records = data.get(run.plan.records) if isinstance(data, dict) else None
    run.apply([r for r in records or [] if isinstance(r, dict)], seen=walk)


def _poll_horizon(run: _Run, *, now: datetime) -> None:
    mark = time_parse(run.subscription.watermark) if run.subscription.watermark else None
    since = mark - timedelta(seconds=run.plan.overlap_s) if mark else None
    lower, upper = horizon_window(plan=run.plan, now=now, tz=_tz(run), since=since)
    for calendar_id in _calendars(run, walk=False):
        _events(run, calendar_id=calendar_id, lower=lower, upper=upper, walk=False)


# The walk ---------------------------------------------------------------------------------------


def _walk(run: _Run, *, coverage: EntityCoverage, now: datetime, complete: bool) -> bool:
    """Advance the walk by this run's share (to its end when ``complete``). True when it ended."""
    subscription = run.subscription
    contacts_total = _live(run, "contact")
    estimate = coverage.last_full_pass_requests or _walk_estimate(run.plan, contacts_total, run)
    window = reconcile_window_s(
        plan=run.plan,
        contacts=contacts_total,
        walk_requests=estimate,
        interval_s=subscription.interval_minutes * 60,
    )
    elapsed = (
        (now - subscription.last_run_at).total_seconds()
        if subscription.last_run_at
        else subscription.interval_minutes * 60
    )
    share = math.ceil(estimate * min(max(elapsed, 1.0), window) / window)
    if coverage.walk_started_at is None:  # a new walk
        with transaction.atomic():
            SubscriptionSeen.objects.filter(subscription=subscription).delete()
            coverage.walk_started_at, coverage.walk_cursor, coverage.walk_requests = now, {}, 0
            coverage.window_s = window
            coverage.save()
    cursor = dict(coverage.walk_cursor or {})
    spent_before = run.walk_requests
    finished = False
    while True:
        cursor, finished = _walk_step(run, cursor=cursor, now=now)
        coverage.walk_requests += run.walk_requests - spent_before
        spent_before = run.walk_requests
        coverage.walk_cursor = cursor
        coverage.window_s = window
        coverage.save(update_fields=["walk_cursor", "walk_requests", "window_s", "updated_at"])
        if finished:
            break
        if run.out_of_time() or (not complete and run.walk_requests >= share):
            return False
    _walk_end(run, coverage=coverage)
    return True


def _walk_estimate(plan: LocationPlan, contacts: int, run: _Run) -> int:
    # The contact plan's records are the contacts just counted: not counted twice.
    records = contacts if run.entity.key == "contact" else _live(run, run.entity.key)
    return walk_requests_estimate(plan=plan, contacts=contacts, records=records)


def _live(run: _Run, kind: str) -> int:
    model = RECORD_MODELS.get(kind)
    if model is None:
        return 0
    return model.objects.filter(
        location_id=run.subscription.location_id, deleted_at__isnull=True
    ).count()


def _walk_step(run: _Run, *, cursor: dict[str, Any], now: datetime) -> tuple[dict[str, Any], bool]:
    """One unit of the walk (a page, a page of contacts and their children, a calendar).
    Returns the cursor after it and whether the walk is over."""
    kind = run.plan.kind
    if kind == HORIZON:
        calendars = cursor.get("calendars")
        if calendars is None:
            calendars = _calendars(run, walk=True)
            return {"calendars": calendars, "done": 0}, not calendars
        done = int(cursor.get("done", 0))
        lower, upper = horizon_window(plan=run.plan, now=now, tz=_tz(run), since=None)
        _events(run, calendar_id=calendars[done], lower=lower, upper=upper, walk=True)
        done += 1
        return {
            **cursor,
            "done": done,
            "lower": cursor.get("lower") or _iso(lower),
            "upper": _iso(upper),
        }, done >= len(calendars)
    operation_key = CONTACTS_SEARCH if kind == FANOUT else run.plan.operation
    if "params" in cursor:
        params, body = cursor["params"], cursor["body"]
    else:
        operation = operation_get(operation_key)
        params, body = request_base(
            operation=operation, parameters={}, location_ghl_id=run.location_ghl_id
        )
        params, body = _listing_base(run, operation_key, params, body)
    pages = run.pages(operation_key, params, body, walk=True)
    records, following = next(pages)
    if kind == FANOUT:
        for contact in records:
            if isinstance(contact, dict) and contact.get("id"):
                _children(run, contact_id=contact["id"], walk=True)
    else:
        run.apply(records, seen=True)
    if following is None:
        return {}, True
    return {"params": following[0], "body": following[1]}, False


def _listing_base(
    run: _Run, operation_key: str, params: dict[str, Any], body: Any
) -> tuple[dict[str, Any], Any]:
    """Location filters some listings need beside the connection's own (users: companyId and
    locationId; opportunities: location_id)."""
    declared = {p.name for p in operation_get(operation_key).form_params}
    location = run.subscription.location
    if "companyId" in declared:
        params = {**params, "companyId": location.agency.company_id}
    if "locationId" in declared and operation_key.startswith("GET"):
        params = {**params, "locationId": run.location_ghl_id}
    if "location_id" in declared:
        params = {**params, "location_id": run.location_ghl_id}
    return params, body


def _walk_end(run: _Run, *, coverage: EntityCoverage) -> None:
    """Soft-delete what the walk did not see (and nothing changed since it began); record it."""
    model = RECORD_MODELS.get(run.entity.key)
    started = coverage.walk_started_at or timezone.now()
    deleted = 0
    with transaction.atomic():
        if model is not None and run.subscription.reconcile_deletions:
            seen = SubscriptionSeen.objects.filter(subscription=run.subscription).values("ghl_id")
            stale = (
                model.objects.filter(
                    location_id=run.subscription.location_id,
                    deleted_at__isnull=True,
                    ghl_id__isnull=False,
                )
                .exclude(ghl_id__in=seen)
                .exclude(source_changed_at__gt=started)
            )
            if run.plan.kind == HORIZON and hasattr(model, STARTS_FIELD):
                lower = time_parse((coverage.walk_cursor or {}).get("lower"))
                upper = time_parse((coverage.walk_cursor or {}).get("upper"))
                if lower and upper:
                    stale = stale.filter(
                        **{f"{STARTS_FIELD}__gte": lower, f"{STARTS_FIELD}__lt": upper}
                    )
            deleted = _soft_delete(stale, at=started)
        records = SubscriptionSeen.objects.filter(subscription=run.subscription).count()
        SubscriptionSeen.objects.filter(subscription=run.subscription).delete()
        EntityCoverage.objects.filter(pk=coverage.pk).update(
            last_full_pass_at=started,
            last_full_pass_records=records,
            last_full_pass_requests=coverage.walk_requests,
            last_full_pass_deleted=deleted,
            walk_started_at=None,
            walk_cursor={},
            walk_requests=0,
        )
    coverage.refresh_from_db()
    run.counts.extra["deleted"] = run.counts.extra.get("deleted", 0) + deleted


def _soft_delete(queryset: Any, *, at: datetime) -> int:
    now = timezone.now()
    return int(
        queryset.update(
            deleted_at=now,
            fingerprint="",
            updated_at=now,
            source_changed_at=at,
            source_tiebreak=TOMBSTONE,
        )
    )


def _iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return (
        moment.astimezone(ZoneInfo("UTC")).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
