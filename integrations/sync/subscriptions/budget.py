"""The budget plan: what a location's (and its agency's) subscriptions will spend of HighLevel's limits.

HighLevel allows each app 200,000 requests a day and 100 per 10 seconds per location, and as much
per company (specs/highlevel/docs/oauth/Authorization.md); operations keyed by ``companyId``
(``GET /users/search``) spend the company's budget, which all of the agency's locations share.
Each subscription's requests per day are estimated from its interval, its plan and the
location's size (:func:`.plans.plan_requests_per_day`); the sum is set against the limit.

A set of subscriptions that would pass ``BUDGET_MAX_SHARE`` (default 50 %) of a budget is
refused when saved or resumed (:class:`BudgetExceeded`, naming the budget, the sum, the share and
the biggest spenders), and paused by :func:`budgets_enforce` when the location grew past it.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from integrations.sync.models import Subscription
from integrations.sync.subscriptions.plans import DAY_S, daily_budget, plan_requests_estimate
from mappings.entities import LOCATION_PLANS
from portal.errors import PortalError
from portal.models import AuditEvent, Location

LOCATION, COMPANY = "location", "company"


class BudgetExceeded(PortalError, ValidationError):
    """A set of subscriptions would spend more of a HighLevel budget than allowed. Permanent:
    lengthen an interval or pause a subscription first."""

    def __init__(self, message: str) -> None:
        ValidationError.__init__(self, message)


@dataclass(frozen=True)
class BudgetLine:
    subscription_id: int | None
    label: str
    location_name: str
    interval_minutes: int
    per_run: float
    per_day: float
    budget: str  # LOCATION or COMPANY


@dataclass
class BudgetPlan:
    """One budget (a location's or a company's) and the subscriptions spending it."""

    scope: str
    name: str
    limit_per_day: int
    max_share: float
    lines: list[BudgetLine] = field(default_factory=list)

    @property
    def per_day(self) -> float:
        return sum(line.per_day for line in self.lines)

    @property
    def share(self) -> float:
        return self.per_day / self.limit_per_day if self.limit_per_day else 0.0

    @property
    def share_percent(self) -> float:
        return 100.0 * self.share

    @property
    def allowed_percent(self) -> float:
        return 100.0 * self.max_share

    @property
    def allowed_per_day(self) -> float:
        return self.limit_per_day * self.max_share

    @property
    def over(self) -> bool:
        return self.per_day > self.allowed_per_day

    @property
    def per_10s(self) -> float:
        """Average requests per 10 seconds (HighLevel's burst limit is 100 per 10 s)."""
        return self.per_day * 10 / DAY_S

    def message(self) -> str:
        biggest = sorted(self.lines, key=lambda line: -line.per_day)[:3]
        spenders = ", ".join(
            f"{line.label} every {line.interval_minutes} min ≈ {line.per_day:,.0f}/day"
            for line in biggest
        )
        return (
            f"Refused: the {self.scope} budget of {self.name} would be spent at about "
            f"{self.per_day:,.0f} of HighLevel's {self.limit_per_day:,} requests a day "
            f"({self.share:.0%}), over the {self.max_share:.0%} allowed (BUDGET_MAX_SHARE). "
            f"Biggest: {spenders}. Lengthen an interval or pause a subscription."
        )


def _budget_of(subscription: Subscription) -> str:
    plan = LOCATION_PLANS.get(subscription.plan) if subscription.plan else None
    return COMPANY if plan is not None and plan.budget == COMPANY else LOCATION


def _label(subscription: Subscription) -> str:
    return f"“{subscription.trigger}”" + (f" ({subscription.plan})" if subscription.plan else "")


def _line(subscription: Subscription) -> BudgetLine:
    per_run = plan_requests_estimate(subscription)
    return BudgetLine(
        subscription_id=subscription.pk,
        label=_label(subscription),
        location_name=subscription.location.name,
        interval_minutes=subscription.interval_minutes,
        per_run=per_run,
        per_day=per_run * DAY_S / (subscription.interval_minutes * 60),
        budget=_budget_of(subscription),
    )


def _spending(
    queryset: "QuerySet[Subscription]", candidate: Subscription | None
) -> list[Subscription]:
    """The active subscriptions of ``queryset``, with ``candidate`` in place of its saved self."""
    active = list(
        queryset.filter(enabled=True, paused=False).select_related(
            "location", "connection", "mapping"
        )
    )
    if candidate is None:
        return active
    active = [s for s in active if s.pk != candidate.pk]  # an unsaved one (pk None) replaces none
    if candidate.enabled and not candidate.paused:
        active.append(candidate)
    return active


def location_budget(*, location_id: int, candidate: Subscription | None = None) -> BudgetPlan:
    """The location's own budget and the subscriptions spending it (``candidate`` as if saved)."""
    location = Location.objects.get(pk=location_id)
    plan = BudgetPlan(LOCATION, location.name, daily_budget(), settings.BUDGET_MAX_SHARE)
    subscriptions = _spending(Subscription.objects.filter(location_id=location_id), candidate)
    plan.lines = [
        line
        for line in (_line(s) for s in subscriptions if s.location_id == location_id)
        if line.budget == LOCATION
    ]
    return plan


def company_budget(*, agency_id: int, candidate: Subscription | None = None) -> BudgetPlan:
    """The company's budget, shared by the agency's locations (operations keyed by companyId)."""
    from portal.models import Agency

    agency = Agency.objects.get(pk=agency_id)
    company_entities = [key for key, plan in LOCATION_PLANS.items() if plan.budget == COMPANY]
    plan = BudgetPlan(COMPANY, agency.name, daily_budget(), settings.BUDGET_MAX_SHARE)
    subscriptions = _spending(
        Subscription.objects.filter(location__agency_id=agency_id, plan__in=company_entities),
        candidate,
    )
    plan.lines = [
        line
        for line in (_line(s) for s in subscriptions if s.location.agency_id == agency_id)
        if line.budget == COMPANY
    ]
    return plan


def budget_check(*, subscription: Subscription) -> None:
    """Refuse (``BudgetExceeded``, naming the cause) a subscription that, saved as it is, would
    take its location's or its company's budget past the allowed share. Only a change that adds
    spending is refused: a set already over stays as it is until someone lowers it."""
    if not subscription.enabled or subscription.paused:
        return
    before = Subscription.objects.filter(pk=subscription.pk).first() if subscription.pk else None
    location = Location.objects.get(pk=subscription.location_id)
    for plan, was in (
        (
            location_budget(location_id=location.pk, candidate=subscription),
            location_budget(location_id=location.pk) if before else None,
        ),
        (
            company_budget(agency_id=location.agency_id, candidate=subscription),
            company_budget(agency_id=location.agency_id) if before else None,
        ),
    ):
        if plan.over and (was is None or plan.per_day > was.per_day):
            raise BudgetExceeded(plan.message())


def budgets_enforce(*, location_ids: list[int] | None = None) -> int:
    """Pause, biggest first, the subscriptions of each location (and company) whose set has grown
    past the allowed share (the location grew), naming the cause on each. Returns how many."""
    locations = Location.objects.all()
    if location_ids is not None:
        locations = locations.filter(pk__in=location_ids)
    locations = locations.filter(
        Q(subscriptions__enabled=True) & Q(subscriptions__paused=False)
    ).distinct()
    paused = 0
    agencies = set()
    for location in locations:
        paused += _enforce(location_budget(location_id=location.pk))
        agencies.add(location.agency_id)
    for agency_id in agencies:
        paused += _enforce(company_budget(agency_id=agency_id))
    return paused


def _enforce(plan: BudgetPlan) -> int:
    paused = 0
    message = plan.message().replace("Refused:", "Paused:", 1)
    for line in sorted(plan.lines, key=lambda line: -line.per_day):
        if not plan.over:
            break
        if line.subscription_id is None:  # only saved subscriptions are paused
            continue
        Subscription.objects.filter(pk=line.subscription_id).update(
            paused=True, last_run_error=message, updated_at=timezone.now()
        )
        subscription = Subscription.objects.select_related("location").get(pk=line.subscription_id)
        AuditEvent.objects.create(
            actor=None,
            action="subscription.paused",
            location=subscription.location,
            target=str(subscription),
            detail={"reason": message[:500]},
        )
        plan.lines.remove(line)
        paused += 1
    return paused
