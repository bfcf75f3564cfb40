"""Location-wide plans: which plan a location's entity runs, its reconciliation window, its cost.

The facts per entity (which listing, whether it filters by modification time, which scopes) are
in each entity module's ``location_plan`` (mappings/entities/); this module turns them into
numbers for one location: the plan its connection's scopes allow (falling back to per-contact
polling where a scope is missing), how long one complete reconciliation walk is paced over, and
how many requests a run and a day spend. The runner is :mod:`.plan_run`.

The walk window: 24 hours for a location of up to ``RECONCILE_CONTACTS`` contacts, longer in
proportion above; never so short that the walk alone spends more than the plan's ``walk_share``
of the daily budget; never shorter than one poll interval.
"""

import math
from dataclasses import dataclass

from django.conf import settings

from integrations.catalog.registry import operation_get
from integrations.sync.models import EntityCoverage, Subscription
from mappings.entities import FANOUT, HORIZON, INCREMENTAL, LISTING, LOCATION_PLANS, LocationPlan
from rankr.models import RECORD_MODELS, Contact

RECONCILE_WINDOW_S = 24 * 3600  # the default window, for up to RECONCILE_CONTACTS contacts
RECONCILE_CONTACTS = 20_000
PAGE = 100  # records per page of every paged listing the plans read (HighLevel's maximum)
DAY_S = 24 * 3600
# Expected share of a location's parents changed per day (for estimates before any run).
CHANGED_PER_DAY = 0.02
DEFAULT_CALENDARS = 3


HIGHLEVEL_DAILY = 200_000  # HighLevel's documented requests per day per app and location


def daily_budget() -> int:
    """The day's budget plans share: HighLevel's, or less where the portal's own limiter says
    so (a limiter raised for tests or benches does not make HighLevel's budget bigger)."""
    return min(int(getattr(settings, "GHL_RATE_LIMIT_DAILY", HIGHLEVEL_DAILY)), HIGHLEVEL_DAILY)


def plan_scopes(plan: LocationPlan) -> set[str]:
    """The scopes a plan's operations need (from the spec), contacts' for a fan-out."""
    operations = [plan.operation, plan.calendars] + (
        ["POST /contacts/search"] if plan.kind == FANOUT else []
    )
    return {s for key in operations if key for s in operation_get(key).scopes}


@dataclass(frozen=True)
class PlanChoice:
    entity: str
    plan: LocationPlan  # the plan that runs (the fallback when scopes are missing)
    preferred: LocationPlan
    missing: tuple[str, ...]  # scopes the preferred plan needs and the connection lacks

    @property
    def fallback(self) -> bool:
        return self.plan is not self.preferred


def plan_choose(*, entity: str, granted: set[str]) -> PlanChoice | None:
    """The plan ``entity`` runs with ``granted`` scopes; None when nothing it needs is granted."""
    preferred = LOCATION_PLANS.get(entity)
    if preferred is None:
        return None
    missing = tuple(sorted(plan_scopes(preferred) - granted))
    if not missing:
        return PlanChoice(entity, preferred, preferred, ())
    fallback = preferred.fallback
    if fallback is not None and not plan_scopes(fallback) - granted:
        return PlanChoice(entity, fallback, preferred, missing)
    return PlanChoice(entity, preferred, preferred, missing)


def location_contacts(location_id: int) -> int:
    return Contact.objects.filter(location_id=location_id, deleted_at__isnull=True).count()


def location_records(location_id: int, entity: str) -> int:
    model = RECORD_MODELS.get(entity)
    if model is None:
        return 0
    return model.objects.filter(location_id=location_id, deleted_at__isnull=True).count()


def walk_requests_estimate(*, plan: LocationPlan, contacts: int, records: int) -> int:
    """Requests one complete walk spends (before a walk has measured it)."""
    if plan.kind == FANOUT:
        return math.ceil(contacts / PAGE) + contacts
    if plan.kind == HORIZON:
        return 1 + DEFAULT_CALENDARS
    return max(math.ceil(records / PAGE), 1)


def reconcile_window_s(
    *, plan: LocationPlan, contacts: int, walk_requests: int, interval_s: int
) -> int:
    """How long one complete walk is paced over, in seconds (see the module's docstring)."""
    base = RECONCILE_WINDOW_S * max(1.0, contacts / RECONCILE_CONTACTS)
    if plan.kind in (LISTING, HORIZON):
        base = interval_s  # no parent walk: as often as the budget share allows
    allowed_per_day = max(plan.walk_share * daily_budget(), 1.0)
    floor = walk_requests * DAY_S / allowed_per_day
    return math.ceil(max(base, floor, interval_s))


def subscription_window_s(subscription: Subscription, plan: LocationPlan | None = None) -> int:
    """The walk window of a plan subscription, from its location's size and its budget share."""
    plan = plan or _running_plan(subscription)
    coverage = EntityCoverage.objects.filter(
        location_id=subscription.location_id, entity=subscription.plan
    ).first()
    contacts = location_contacts(subscription.location_id)
    walk = (coverage.last_full_pass_requests if coverage else 0) or walk_requests_estimate(
        plan=plan,
        contacts=contacts,
        records=location_records(subscription.location_id, subscription.plan),
    )
    return reconcile_window_s(
        plan=plan,
        contacts=contacts,
        walk_requests=walk,
        interval_s=subscription.interval_minutes * 60,
    )


def _running_plan(subscription: Subscription) -> LocationPlan:
    choice = plan_choose(entity=subscription.plan, granted=subscription.connection.scope_set)
    if choice is None:
        raise KeyError(f"{subscription.plan!r} has no location-wide plan.")
    return choice.plan


def plan_requests_estimate(subscription: Subscription) -> float:
    """Requests one run of ``subscription`` spends on average (poll part plus its share of the
    walk). For a subscription without a location-wide plan: its pages per run, estimated from
    the location's records of its mapping's entity (one request when it asks only for changes).
    """
    interval_s = subscription.interval_minutes * 60
    location_id = subscription.location_id
    if not subscription.plan:
        entity = subscription.mapping.entity if subscription.mapping_id else ""
        records = location_records(location_id, entity)
        if subscription.watermark:  # asks only for changes
            return 1.0
        return float(max(math.ceil(records / PAGE), 1))
    plan = _running_plan(subscription)
    contacts = location_contacts(location_id)
    records = location_records(location_id, subscription.plan)
    coverage = EntityCoverage.objects.filter(
        location_id=location_id, entity=subscription.plan
    ).first()
    walk = (coverage.last_full_pass_requests if coverage else 0) or walk_requests_estimate(
        plan=plan, contacts=contacts, records=records
    )
    window = reconcile_window_s(
        plan=plan, contacts=contacts, walk_requests=walk, interval_s=interval_s
    )
    walk_per_run = walk * interval_s / window
    runs_per_day = DAY_S / interval_s
    if plan.kind == INCREMENTAL:
        changed = records * CHANGED_PER_DAY / runs_per_day
        poll = 1 + changed / PAGE
    elif plan.kind == FANOUT:
        changed = contacts * CHANGED_PER_DAY / runs_per_day
        poll = 1 + changed / PAGE + changed
    elif plan.kind == HORIZON:
        poll = 1.0 + DEFAULT_CALENDARS
    else:  # LISTING: the walk is the listing
        poll = 0.0
    return poll + walk_per_run


def plan_requests_per_day(subscription: Subscription) -> float:
    """``plan_requests_estimate`` over a day of runs at the subscription's interval."""
    return plan_requests_estimate(subscription) * DAY_S / (subscription.interval_minutes * 60)
