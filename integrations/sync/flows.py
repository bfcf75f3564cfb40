"""Applying a flow template: its mapping, and for HighLevel → Rankr flows the polling trigger too.

So one action gives a connected location a working flow: the mapping from
``mappings.flow_templates`` and a subscription polling the trigger that feeds it.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from integrations.ghl.models import Connection
from integrations.sync.models import Subscription
from integrations.sync.subscriptions import subscription_save
from mappings.models import Mapping
from mappings.services import mapping_template_apply

# Flow template -> the catalog's named polling trigger that feeds it.
FLOW_TRIGGERS = {
    "ghl_contact_upsert": "Search Contacts",
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


@transaction.atomic
def flow_apply(*, template_key: str, location_id: int, user_id: int | None) -> FlowApplied:
    """Apply one template to a location; idempotent like the mapping it creates."""
    mapping, mapping_created = mapping_template_apply(
        template_key=template_key, location_id=location_id, user_id=user_id
    )
    trigger = FLOW_TRIGGERS.get(template_key)
    if trigger is None:
        return FlowApplied(mapping, mapping_created)
    existing = Subscription.objects.filter(location_id=location_id, trigger=trigger, mapping=mapping).first()
    if existing is not None:
        return FlowApplied(mapping, mapping_created, existing, False)
    connection = (
        Connection.objects.filter(location_id=location_id, kind=Connection.Kind.LOCATION,
                                  status=Connection.Status.ACTIVE)
        .order_by("pk").first()
    )
    if connection is None:
        return FlowApplied(
            mapping, mapping_created,
            note=f"No active connection: connect the location, then apply again to poll “{trigger}”.",
        )
    subscription = Subscription(
        location_id=location_id, connection=connection, trigger=trigger, parameters={},
        interval_minutes=DEFAULT_INTERVAL_MINUTES, mapping=mapping, enabled=True,
    )
    try:
        with transaction.atomic():
            subscription_save(subscription=subscription, user_id=user_id)
    except ValidationError as exc:
        return FlowApplied(mapping, mapping_created, note=f"“{trigger}” not started: {'; '.join(exc.messages)}")
    return FlowApplied(mapping, mapping_created, subscription, True)
