"""Configure and steer subscriptions: check, save, run now, backfill, pause, resume."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from integrations.catalog.calls import OperationInvalid, call_prepare
from integrations.catalog.connections import connection_info
from integrations.catalog.named import TRIGGER, named_get
from integrations.catalog.polling import poll_plan
from integrations.catalog.registry import operation_get
from integrations.ghl.models import Connection
from integrations.sync.leases import db_now
from integrations.sync.models import Job, Subscription
from integrations.sync.subscriptions.budget import BudgetExceeded, budget_check
from integrations.sync.subscriptions.dispatch import subscription_claim
from integrations.sync.subscriptions.incremental import request_base
from mappings.entities import ENTITIES, GHL_TO_RANKR, LOCATION_PLANS
from portal.models import AuditEvent


def subscription_check(*, subscription: Subscription) -> dict[str, list[str]]:
    """Every problem with the configuration, as ``{field: [messages]}`` (empty when fine)."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    try:
        named = named_get(subscription.trigger)
    except KeyError:
        named = None
    if named is None or named.kind != TRIGGER:
        add("trigger", f"{subscription.trigger!r} is not a polling trigger of the catalog.")
        return errors
    if not 1 <= (subscription.interval_minutes or 0) <= 15:
        add("interval_minutes", "Choose an interval from 1 to 15 minutes.")
    parameters: Any = subscription.parameters
    if not isinstance(parameters, dict):
        add("parameters", 'Parameters must be a JSON object, e.g. {"query": "smith"}.')
        parameters = {}
    location_id = subscription.location_id
    connection = subscription.connection if subscription.connection_id else None
    if connection is not None and connection.location_id != location_id:
        add("connection", "Choose a connection of this subscription's location.")
    if connection is not None and connection.kind != Connection.Kind.LOCATION:
        add("connection", "Polling needs a location (sub-account) connection.")
    mapping = subscription.mapping if subscription.mapping_id else None
    if mapping is not None:
        if mapping.location_id != location_id:
            add("mapping", "Choose a mapping of this subscription's location.")
        entity = ENTITIES.get(mapping.entity)
        if mapping.direction != GHL_TO_RANKR or entity is None or entity.rankr_model is None:
            add("mapping", "Choose a HighLevel → Rankr mapping of an entity Rankr keeps.")
    if subscription.plan:  # a location-wide plan builds its own requests
        if subscription.plan not in LOCATION_PLANS:
            add("plan", f"{subscription.plan!r} has no location-wide plan.")
        elif mapping is not None and mapping.entity != subscription.plan:
            add("mapping", "Choose a mapping of the plan's entity.")
        return errors
    plan = poll_plan(named)
    missing = [name for name in plan.params if name not in parameters]
    for name in missing:
        add("parameters", f"The trigger needs the parameter {name!r}.")
    if (
        connection is not None
        and connection.location is not None
        and not missing
        and "parameters" not in errors
    ):
        operation = operation_get(plan.operation)
        params, body = request_base(
            operation=operation,
            parameters=parameters,
            location_ghl_id=connection.location.location_id,
        )
        try:
            call_prepare(
                operation=operation,
                params=params,
                body=body,
                connection=connection_info(connection),
            )
        except OperationInvalid as exc:
            for name, messages in exc.errors.items():
                for message in messages:
                    add("parameters", f"{name}: {message}")
    return errors


def subscription_save(*, subscription: Subscription, user_id: int | None) -> Subscription:
    """Validate and save; a changed trigger, parameters or mapping starts over with a backfill."""
    errors = subscription_check(subscription=subscription)
    if errors:
        raise ValidationError(errors)
    budget_check(subscription=subscription)  # BudgetExceeded names the budget and the spenders
    subscription.operation = named_get(subscription.trigger).key
    adding = subscription.pk is None
    if not adding:
        before = Subscription.objects.get(pk=subscription.pk)
        if (before.trigger, before.parameters, before.mapping_id) != (
            subscription.trigger,
            subscription.parameters,
            subscription.mapping_id,
        ):
            subscription.cursor, subscription.watermark = {}, ""
            subscription.full_pass_requested = True
    with transaction.atomic():
        subscription.save()
        _audit(user_id, "subscription.created" if adding else "subscription.changed", subscription)
    return subscription


def subscription_run_now(
    *, subscription_id: int, user_id: int | None, backfill: bool = False
) -> Job | None:
    """Enqueue a run now (a full pass when ``backfill``). Returns the job, or None if one runs.

    The claim is compared on the database's clock, as the dispatcher's: a host whose clock is
    ahead would see a running job's claim as lapsed and start a second run beside it."""
    now = db_now()
    with transaction.atomic():
        if backfill:
            Subscription.objects.filter(pk=subscription_id).update(full_pass_requested=True)
        subscription = Subscription.objects.get(pk=subscription_id)
        job = subscription_claim(
            subscription=subscription, now=now, due=now, reason="backfill" if backfill else "manual"
        )
        _audit(
            user_id,
            "subscription.backfill" if backfill else "subscription.run_now",
            subscription,
            queued=job is not None,
        )
    return job


def subscriptions_pause(
    *, subscription_ids: Iterable[int], user_id: int | None, paused: bool
) -> int:
    """Pause or resume; the checkpoint is kept. Returns how many changed.

    A subscription whose resumption would take its budget past the allowed share stays paused,
    the refusal (naming the budget and the spenders) in its last error.
    """
    changed = 0
    with transaction.atomic():
        rows = list(
            Subscription.objects.select_for_update().filter(
                pk__in=subscription_ids, paused=not paused
            )
        )
        for subscription in rows:
            if not paused:
                subscription.paused = False
                try:
                    budget_check(subscription=subscription)
                except BudgetExceeded as exc:
                    Subscription.objects.filter(pk=subscription.pk).update(
                        last_run_error=exc.messages[0]
                    )
                    continue
            _audit(
                user_id, "subscription.paused" if paused else "subscription.resumed", subscription
            )
            Subscription.objects.filter(pk=subscription.pk).update(paused=paused)
            changed += 1
    return changed


def _audit(user_id: int | None, action: str, subscription: Subscription, **detail: object) -> None:
    AuditEvent.objects.create(
        actor_id=user_id,
        action=action,
        location_id=subscription.location_id,
        target=f"subscription {subscription.pk}: {subscription.trigger}"[:255],
        detail={"subscription_id": subscription.pk, **detail},
    )
