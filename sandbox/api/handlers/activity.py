"""Tasks completion, location task search, conversations and messages, opportunities' status and
upsert, calendar events in a time window: the stateful operations that are not plain CRUD."""

from datetime import UTC, datetime

from sandbox.access.models import SandboxLocation
from sandbox.api.context import Call, Reply
from sandbox.api.handlers.crud import Crud
from sandbox.api.handlers.paging import page_rows, page_window
from sandbox.errors import ApiError
from sandbox.state import events, store

task = Crud("get", "task", id_param="taskId", parent_param="contactId", key="task")


def task_complete(call: Call) -> Reply:
    res = task.load(call)
    completed = bool(call.body.get("completed"))
    res = store.resource_update(res=res, changes={"completed": completed})
    if completed:
        events.event_emit(event_type="TaskComplete", location_id=res.location_id, data=res.data)
    return Reply({"task": res.data})


def location_tasks_search(call: Call) -> Reply:
    qs = store.resources_query(kind="task", location_id=call.location_id)
    body = call.body
    if body.get("contactId"):
        qs = qs.filter(
            parent_id__in=body["contactId"]
            if isinstance(body["contactId"], list)
            else [body["contactId"]]
        )
    if body.get("completed") is not None:
        qs = qs.filter(data__completed=bool(body["completed"]))
    rows, _ = page_rows(qs, page_window(call))
    return Reply({"tasks": [r.data for r in rows]})


def _conversation_for(*, location_id: str, contact_id: str, kind: str = "TYPE_PHONE"):
    qs = store.resources_query(kind="conversation", location_id=location_id).filter(
        data__contactId=contact_id
    )
    found = qs.first()
    if found:
        return found
    return store.resource_create(
        kind="conversation",
        location_id=location_id,
        data={
            "contactId": contact_id,
            "type": kind,
            "unreadCount": 0,
            "inbox": True,
            "deleted": False,
        },
    )


def message_send(call: Call) -> Reply:
    """POST /conversations/messages and the inbound/outbound variants: store the message."""
    body = call.body
    contact_id = body.get("contactId") or ""
    contact = store.resource_get(kind="contact", resource_id=contact_id) if contact_id else None
    conversation_id = body.get("conversationId")
    if conversation_id:
        conversation = store.resource_get(kind="conversation", resource_id=conversation_id)
    elif contact is not None:
        call.check_location(contact.location_id)
        conversation = _conversation_for(location_id=contact.location_id, contact_id=contact_id)
    else:
        conversation = None
    if conversation is None:
        raise ApiError(400, "Contact or conversation not found")
    call.check_location(conversation.location_id)
    direction = "inbound" if call.op.path.endswith("inbound") else "outbound"
    message = store.resource_create(
        kind="message",
        location_id=conversation.location_id,
        parent_id=conversation.resource_id,
        data={
            "conversationId": conversation.resource_id,
            "contactId": conversation.data.get("contactId"),
            "body": body.get("message") or body.get("html") or "",
            "messageType": body.get("type", "SMS"),
            "direction": direction,
            "status": "delivered" if direction == "inbound" else "sent",
        },
    )
    event = "InboundMessage" if direction == "inbound" else "OutboundMessage"
    events.event_emit(event_type=event, location_id=message.location_id, data=message.data)
    if direction == "outbound":
        _outbound_events(message=message, body=body)
    return Reply(
        {
            "success": True,
            "conversationId": conversation.resource_id,
            "messageId": message.resource_id,
            "contactId": message.data["contactId"],
            "message": "Message queued",
            "dateAdded": message.data["dateAdded"],
        }
    )


def _outbound_events(*, message, body: dict) -> None:
    """The events an outgoing message causes beside ``OutboundMessage``: ``ProviderOutboundMessage``
    when it goes through a custom conversation provider, ``LCEmailStats`` when it is an email."""
    contact = store.resource_get(kind="contact", resource_id=message.data["contactId"])
    contact_data = contact.data if contact is not None else {}
    if body.get("conversationProviderId"):
        events.provider_outbound_emit(message=message, contact=contact_data, body=body)
    if message.data["messageType"] == "Email":
        company_id = (
            SandboxLocation.objects.filter(location_id=message.location_id)
            .values_list("company__company_id", flat=True)
            .first()
        )
        events.email_stats_emit(
            message=message,
            contact=contact_data,
            company_id=company_id or "",
            sent_from=body.get("emailFrom") or "Sandbox <no-reply@sandbox.test>",
        )


def conversation_messages(call: Call) -> Reply:
    conversation = store.resource_get(kind="conversation", resource_id=call.path("conversationId"))
    if conversation is None:
        raise ApiError(400, "Conversation not found")
    call.check_location(conversation.location_id)
    qs = store.resources_query(kind="message", parent_id=conversation.resource_id)
    rows, more = page_rows(qs, page_window(call))
    return Reply(
        {
            "lastMessageId": rows[-1].resource_id if rows else "",
            "nextPage": more,
            "messages": [r.data for r in rows],
        }
    )


opportunity = Crud("get", "opportunity", id_param="id", key="opportunity")


def opportunity_status(call: Call) -> Reply:
    res = store.resource_update(
        res=opportunity.load(call), changes={"status": call.body.get("status")}
    )
    events.event_emit(
        event_type="OpportunityStatusUpdate", location_id=res.location_id, data=res.data
    )
    return Reply({"succeded": True})


def opportunity_upsert(call: Call) -> Reply:
    body, location_id = call.body, call.location_id or call.body.get("locationId", "")
    existing = None
    if body.get("id"):
        existing = store.resource_get(kind="opportunity", resource_id=body["id"])
    elif body.get("contactId") and body.get("pipelineId"):
        existing = (
            store.resources_query(kind="opportunity", location_id=location_id)
            .filter(data__contactId=body["contactId"], data__pipelineId=body["pipelineId"])
            .first()
        )
    if existing:
        call.check_location(existing.location_id)
        before = dict(existing.data)
        res = store.resource_update(res=existing, changes=body)
        events.event_emit(
            event_type="OpportunityUpdate", location_id=res.location_id, data=res.data
        )
        events.changes_emit(
            kind="opportunity", before=before, after=res.data, location_id=res.location_id
        )
        return Reply({"opportunity": res.data, "new": False})
    res = store.resource_create(kind="opportunity", location_id=location_id, data=body)
    events.event_emit(event_type="OpportunityCreate", location_id=location_id, data=res.data)
    return Reply({"opportunity": res.data, "new": True})


def _iso_from_ms(value) -> str | None:
    try:
        moment = datetime.fromtimestamp(int(float(value)) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def calendar_events(call: Call) -> Reply:
    """GET /calendars/events and /calendars/blocked-slots: the window startTime..endTime (epoch ms).

    HighLevel documents no paging here: every event of the window comes in one answer.
    """
    kind = "blocked_slot" if call.op.path.endswith("blocked-slots") else "appointment"
    qs = store.resources_query(kind=kind, location_id=call.location_id)
    for name in ("calendarId", "userId", "groupId"):
        if call.query.get(name):
            field = "assignedUserId" if name == "userId" else name
            qs = qs.filter(**{f"data__{field}": call.query[name]})
    start, end = _iso_from_ms(call.query.get("startTime")), _iso_from_ms(call.query.get("endTime"))
    rows = [
        data
        for data in qs.order_by("seq").values_list("data", flat=True)
        if (not start or str(data.get("endTime") or data.get("startTime", "")) >= start)
        and (not end or str(data.get("startTime", "")) <= end)
    ]
    return Reply({"events": rows})
