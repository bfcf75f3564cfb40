"""Webhook events in the shapes of specs/highlevel/docs/webhook events/*.md.

Each event's payload is the resource's data cut to the properties its documented schema lists
(under the one key the schema nests it in, for AppointmentCreate and the like), plus ``type`` and
``locationId``; extra fields given by the caller win.
"""

import json
import re
from functools import cache

from sandbox.access.services import webhooks
from sandbox.spec.resolve import SPEC_DIR

_SCHEMA_BLOCK = re.compile(r"```json(?: json_schema)?\s*\n(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


# Event types whose doc file is named otherwise (DEFECTS.md D10): the type HighLevel sends -> file.
DOC_FILES = {
    "ConversationUnreadUpdate": "ConversationUnreadWebhook",
    "INSTALL": "AppInstall",
    "UNINSTALL": "AppUninstall",
    "PLAN_CHANGE": "PlanChange",
}


def event_doc_path(event_type: str):
    return SPEC_DIR / "docs" / "webhook events" / f"{DOC_FILES.get(event_type, event_type)}.md"


@cache
def event_properties(event_type: str) -> dict:
    path = event_doc_path(event_type)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyError(f"no documented webhook event {event_type}") from None
    match = _SCHEMA_BLOCK.search(text)
    if not match:
        return {}
    # Doc defects (DEFECTS.md): RelationDelete's schema has a trailing comma; UserCreate gives a
    # sketch of the payload ({"id": "string", ...}) instead of a JSON schema.
    block = json.loads(_TRAILING_COMMA.sub(r"\1", match.group(1)))
    return block.get("properties") or block


def event_payload(
    *, event_type: str, location_id: str, data: dict, extra: dict | None = None
) -> dict:
    allowed = event_properties(event_type)
    own = [k for k in allowed if k not in ("type", "locationId")]
    nested = (
        own[0]
        if len(own) == 1 and isinstance(allowed[own[0]], dict) and "properties" in allowed[own[0]]
        else None
    )
    if nested:  # AppointmentCreate & co. carry the resource under one key: {"appointment": {...}}
        inner = allowed[nested]["properties"]
        payload = {nested: {k: v for k, v in data.items() if k in inner}}
    else:
        payload = {k: v for k, v in data.items() if k in allowed}
    payload.update(extra or {})
    payload["type"] = event_type
    payload["locationId"] = location_id
    return payload


def event_emit(*, event_type: str, location_id: str, data: dict, extra: dict | None = None) -> None:
    payload = event_payload(event_type=event_type, location_id=location_id, data=data, extra=extra)
    # Recorded inside the change's transaction (rolled back with it), delivered after commit.
    webhooks.webhook_emit(location_id=location_id, event_type=event_type, payload=payload)


# Field changes that HighLevel announces with an event of their own, besides the entity's
# *Update event (docs/webhook events/ContactDndUpdate.md, OpportunityStageUpdate.md, ...).
CHANGE_EVENTS = {
    "contact": (("ContactDndUpdate", ("dnd", "dndSettings")), ("ContactTagUpdate", ("tags",))),
    "opportunity": (
        ("OpportunityStageUpdate", ("pipelineStageId", "pipelineId")),
        ("OpportunityMonetaryValueUpdate", ("monetaryValue",)),
        ("OpportunityAssignedToUpdate", ("assignedTo",)),
        ("OpportunityStatusUpdate", ("status",)),
    ),
    "conversation": (("ConversationUnreadUpdate", ("unreadCount",)),),
}


def changes_emit(
    *, kind: str, before: dict, after: dict, location_id: str, skip: tuple = ()
) -> list[str]:
    """Emit the field-change events a change from ``before`` to ``after`` calls for."""
    sent = []
    for event_type, fields in CHANGE_EVENTS.get(kind, ()):
        if event_type in skip:
            continue
        if any(before.get(f) != after.get(f) for f in fields):
            event_emit(event_type=event_type, location_id=location_id, data=after)
            sent.append(event_type)
    return sent


# --- Events whose payload is not the resource cut to a schema -----------------------------------
def provider_outbound_emit(*, message, contact: dict, body: dict) -> None:
    """``ProviderOutboundMessage`` (docs/webhook events/ProviderOutboundMessage.md): sent when a
    message goes out through a custom conversation provider. Its ``type`` is the channel (``SMS``
    or ``Email``), not the event's name, and it has no ``timestamp`` beyond the envelope's: "differs
    from the structure of our other webhooks" (the doc). The email example's ``emailTo`` is a list
    though the schema says string (DEFECTS.md D14): the sandbox sends the example's list."""
    data = message.data
    channel = "Email" if data.get("messageType") == "Email" else "SMS"
    payload = {
        "contactId": data["contactId"],
        "locationId": message.location_id,
        "messageId": message.resource_id,
        "type": channel,
        "attachments": list(body.get("attachments") or []),
    }
    if channel == "Email":
        payload.update(
            emailMessageId=message.resource_id,
            emailTo=list(body.get("emailTo") or [contact.get("email") or ""]),
            emailFrom=body.get("emailFrom") or "Sandbox <no-reply@sandbox.test>",
            html=body.get("html") or data["body"],
            subject=body.get("subject") or "",
        )
    else:
        payload.update(
            phone=body.get("toNumber") or contact.get("phone") or "", message=data["body"]
        )
    if body.get("userId"):
        payload["userId"] = body["userId"]
    webhooks.webhook_emit(
        location_id=message.location_id, event_type="ProviderOutboundMessage", payload=payload
    )


def email_stats_emit(*, message, contact: dict, company_id: str, sent_from: str) -> None:
    """``LCEmailStats`` (docs/webhook events/LCEmailStats.md) for an email sent: the delivery's
    statistics under ``webhookPayload``, in the mail provider's kebab-case keys."""
    recipient = contact.get("email") or ""
    location_id = message.location_id
    payload = {
        "companyId": company_id,
        "webhookPayload": {
            "event": "delivered",
            "id": message.resource_id,
            "timestamp": int(message.created_at.timestamp()),
            "flags": {
                "is-authenticated": True,
                "is-routed": False,
                "is-big": False,
                "is-system-test": False,
                "is-test-mode": False,
            },
            "message": {
                "attachments": [],
                "headers": {
                    "message-id": f"<{message.resource_id}@sandbox.test>",
                    "from": sent_from,
                    "to": recipient,
                },
                "size": len(message.data["body"].encode()),
            },
            "log-level": "info",
            "recipient": recipient,
            "recipient-domain": recipient.rpartition("@")[2],
            "tags": [f"loc_{location_id}", f"com_{company_id}", "et_other"],
            "recipient-provider": "Other",
            "campaigns": [],
            "delivery-status": {
                "attempt-no": 1,
                "code": 250,
                "message": "OK",
                "description": "",
                "session-seconds": 0.01,
                "enhanced-code": "",
                "mx-host": "mx.sandbox.test",
                "utf8": True,
                "i-first-delivery-attempt-seconds": 0.01,
            },
            "envelope": {
                "sender": sent_from,
                "targets": recipient,
                "transport": "smtp",
                "sending-ip": "127.0.0.1",
                "i-ip-pool-id": "",
                "i-ip-pool-name": "sandbox",
            },
        },
    }
    webhooks.webhook_emit(location_id=location_id, event_type="LCEmailStats", payload=payload)


def campaign_status_emit(*, enrolment, status: str) -> None:
    """``CampaignStatusUpdate`` (docs/webhook events/CampaignStatusUpdate.md) when a contact's
    enrolment in a campaign changes: ``id`` is the enrolment, ``templateId`` the campaign (the doc
    does not say what ``id`` names; DEFECTS.md D15)."""
    data = enrolment.data
    event_emit(
        event_type="CampaignStatusUpdate",
        location_id=enrolment.location_id,
        data={
            "id": enrolment.resource_id,
            # an enrolment is filed under its contact (parent): older rows may not repeat it
            "contactId": data.get("contactId") or enrolment.parent_id,
            "status": status,
            "templateId": data.get("targetId", ""),
            "dateAdded": data.get("dateAdded") or "",
        },
    )
