"""Applying a flow template: its mapping, and for HighLevel → Rankr flows the polling trigger too.

So one action gives a connected location a working flow: the mapping from
``mappings.flow_templates`` and a subscription polling the trigger that feeds it.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from integrations.ghl.models import Connection
from integrations.sync.models import Subscription
from integrations.sync.subscriptions import subscription_save
from integrations.sync.subscriptions.plans import plan_choose
from mappings.entities import GHL_TO_RANKR, LOCATION_PLANS
from mappings.flow_templates import FLOW_TEMPLATES
from mappings.models import Mapping
from mappings.services import mapping_template_apply
from portal.models import Location

# Flow template -> the catalog's named polling trigger that feeds it, for flows whose entity has
# no location-wide plan (those start the plan's subscription: ``LOCATION_PLANS``).
FLOW_TRIGGERS = {
    "ghl_workflows": "List Workflows",
    "ghl_social_tags": "Get Social Tags",
}
DEFAULT_INTERVAL_MINUTES = 5


@dataclass(frozen=True)
class FlowApplied:
    mapping: Mapping
    mapping_created: bool
    subscription: Subscription | None = None
    subscription_created: bool = False
    note: str = ""


@dataclass
class FlowsReport:
    """What applying templates to many locations did, counted per template."""

    created: dict[str, int] = field(default_factory=dict)  # template title -> locations
    kept: dict[str, int] = field(default_factory=dict)  # template title -> already mapped at
    polling: int = 0
    notes: list[str] = field(default_factory=list)

    def created_lines(self) -> list[str]:
        return [
            f"{title}: created at {n} location{'s' if n > 1 else ''}."
            for title, n in self.created.items()
        ]

    def kept_lines(self) -> list[str]:
        return [
            f"{title}: already mapped at {n} location{'s' if n > 1 else ''}, left as is."
            for title, n in self.kept.items()
        ]


def flows_apply_many(
    *, template_keys: list[str], location_ids: list[int], user_id: int | None
) -> FlowsReport:
    """Apply each template to each location (idempotent, one transaction per pair, so one
    location's failure does not undo the others)."""
    report = FlowsReport()
    names = dict(Location.objects.filter(pk__in=location_ids).values_list("pk", "name"))
    for location_id in location_ids:
        for key in template_keys:
            applied = flow_apply(template_key=key, location_id=location_id, user_id=user_id)
            title = FLOW_TEMPLATES[key].title
            bucket = report.created if applied.mapping_created else report.kept
            bucket[title] = bucket.get(title, 0) + 1
            report.polling += int(applied.subscription_created)
            if applied.note:
                report.notes.append(f"{names.get(location_id, location_id)}: {applied.note}")
    return report


@transaction.atomic
def flow_apply(*, template_key: str, location_id: int, user_id: int | None) -> FlowApplied:
    """Apply one template to a location; idempotent like the mapping it creates.

    A HighLevel → Rankr flow whose entity has a location-wide plan starts that plan's one
    subscription for the location (shared by every flow of the entity); other flows their
    catalog trigger (``FLOW_TRIGGERS``).
    """
    mapping, mapping_created = mapping_template_apply(
        template_key=template_key, location_id=location_id, user_id=user_id
    )
    template = FLOW_TEMPLATES[template_key]
    if template.direction == GHL_TO_RANKR and template.entity in LOCATION_PLANS:
        return _plan_start(
            mapping=mapping,
            mapping_created=mapping_created,
            entity=template.entity,
            location_id=location_id,
            user_id=user_id,
        )
    trigger = FLOW_TRIGGERS.get(template_key)
    if trigger is None:
        return FlowApplied(mapping, mapping_created)
    existing = Subscription.objects.filter(
        location_id=location_id, trigger=trigger, mapping=mapping
    ).first()
    if existing is not None:
        return FlowApplied(mapping, mapping_created, existing, False)
    connection = _connection(location_id)
    if connection is None:
        return FlowApplied(
            mapping,
            mapping_created,
            note=f"No active connection: connect the location, then apply again to poll “{trigger}”.",
        )
    subscription = Subscription(
        location_id=location_id,
        connection=connection,
        trigger=trigger,
        parameters={},
        interval_minutes=DEFAULT_INTERVAL_MINUTES,
        mapping=mapping,
        enabled=True,
    )
    try:
        with transaction.atomic():
            subscription_save(subscription=subscription, user_id=user_id)
    except ValidationError as exc:
        return FlowApplied(
            mapping, mapping_created, note=f"“{trigger}” not started: {'; '.join(exc.messages)}"
        )
    return FlowApplied(mapping, mapping_created, subscription, True)


def _connection(location_id: int) -> Connection | None:
    return (
        Connection.objects.filter(
            location_id=location_id, kind=Connection.Kind.LOCATION, status=Connection.Status.ACTIVE
        )
        .order_by("pk")
        .first()
    )


def _plan_start(
    *, mapping: Mapping, mapping_created: bool, entity: str, location_id: int, user_id: int | None
) -> FlowApplied:
    """The location's one subscription for ``entity``'s plan: the existing one, or a new one.

    Where the connection lacks a scope the plan needs, the plan falls back to what the granted
    scopes allow (per-contact polling) and the connection is flagged for re-consent; with no
    fallback the subscription waits for re-consent (the note says which scopes).
    """
    existing = Subscription.objects.filter(location_id=location_id, plan=entity).first()
    if existing is not None:
        return FlowApplied(mapping, mapping_created, existing, False)
    plan = LOCATION_PLANS[entity]
    # A subscription an earlier version started for the flow (its trigger's own pass) becomes
    # the plan's: one subscription per entity, its checkpoint and history kept.
    earlier = Subscription.objects.filter(
        location_id=location_id, plan="", trigger=plan.trigger, mapping=mapping
    ).first()
    if earlier is not None:
        Subscription.objects.filter(pk=earlier.pk).update(plan=entity, cursor={})
        earlier.plan = entity
        return FlowApplied(mapping, mapping_created, earlier, False)
    connection = _connection(location_id)
    if connection is None:
        return FlowApplied(
            mapping,
            mapping_created,
            note=f"No active connection: connect the location, then apply again to poll "
            f"“{plan.trigger}”.",
        )
    choice = plan_choose(entity=entity, granted=connection.scope_set)
    note = ""
    if choice is not None and choice.missing:
        flagged = sorted(set(connection.reconsent_scopes.split()) | set(choice.missing))
        Connection.objects.filter(pk=connection.pk).update(reconsent_scopes=" ".join(flagged))
        missing = ", ".join(choice.missing)
        if not choice.fallback:
            return FlowApplied(
                mapping,
                mapping_created,
                note=f"“{plan.trigger}” waits for re-consent: the connection lacks {missing}.",
            )
        note = (
            f"“{plan.trigger}” needs {missing}: polling per contact (“{choice.plan.trigger}”) "
            "until the location re-consents."
        )
    subscription = Subscription(
        location_id=location_id,
        connection=connection,
        trigger=choice.plan.trigger if choice is not None else plan.trigger,
        plan=entity,
        parameters={},
        interval_minutes=DEFAULT_INTERVAL_MINUTES,
        mapping=mapping,
        enabled=True,
    )
    try:
        with transaction.atomic():
            subscription_save(subscription=subscription, user_id=user_id)
    except ValidationError as exc:
        return FlowApplied(
            mapping,
            mapping_created,
            note=f"“{plan.trigger}” not started: {'; '.join(exc.messages)}",
        )
    return FlowApplied(mapping, mapping_created, subscription, True, note)
