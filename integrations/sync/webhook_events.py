"""Webhook events into Rankr: each one a "webhook" job keyed by its ``webhookId``.

``EVENT_HANDLERS`` (type -> handler) is what ``integrations.sync.webhooks_in`` calls for a stored,
verified event, in the intake's transaction: the handler only makes the job (the intake sends it),
so a failure lands on a job that support sees and can re-run. The job applies the event's record through ``inbound.record_apply`` (the polled
path) or soft-deletes it. Payload shapes: specs/highlevel/docs/webhook events/*.md.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.sync.inbound import NoMapping, record_apply, record_ghl_id, record_remove
from integrations.sync.jobs import job_enqueue, job_fence
from integrations.sync.models import Job, WebhookEvent
from integrations.sync.targets import EventError, job_location_id
from mappings.entities import DELETE, ROUTES, UPSERT, EventRoute, RegistryView  # noqa: F401


class LocationUnknown(EventError):
    """The event's location is not (yet) one of the portal's: the event waits for it."""


# Delivery fields, not record fields: left out so a re-delivery fingerprints the same.
ENVELOPE = ("type", "timestamp", "webhookId")
# Which event types carry which entity, and what they do to it (``ROUTES``), is declared by each
# entity module's ``events`` (mappings/entities/).


def webhook_record(*, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The HighLevel record an event carries, without the delivery envelope."""
    route = ROUTES[event_type]
    source = payload.get(route.record_key) if route.record_key else payload
    if not isinstance(source, dict):
        raise EventError(f"The {event_type} payload has no {route.record_key or 'record'} object.")
    record = {k: v for k, v in source.items() if k not in ENVELOPE}
    if route.record_key and "locationId" in payload:
        record.setdefault("locationId", payload["locationId"])
    for flat, path in route.nested.items():  # where the polled record keeps a flat field
        if flat not in record:
            continue
        *parents, leaf = path.split(".")
        holder = record
        for name in parents:
            inner = holder.get(name)
            holder[name] = inner = dict(inner) if isinstance(inner, dict) else {}
            holder = inner
        holder.setdefault(leaf, record[flat])
    return {**record, **route.implied}


def webhook_event_enqueue(event: WebhookEvent) -> Job:
    """EVENT_HANDLERS entry: make the stored event's "webhook" job (once per webhookId), in the
    intake's transaction; the intake sends it (``send=False``) and learns whether the broker
    took it."""
    if event.location_id is None:
        raise LocationUnknown(
            f"No portal location has HighLevel id {event.highlevel_location_id!r} yet: the event "
            "waits and is applied once that location is connected."
        )
    record = webhook_record(event_type=event.event_type, payload=event.payload or {})
    entity = ROUTES[event.event_type].entity
    return job_enqueue(
        kind=Job.Kind.WEBHOOK,
        send=False,
        idempotency_key=f"webhook:{event.webhook_id}",
        location_id=event.location_id,
        operation=event.event_type,
        subject=record_ghl_id(entity=entity, record=record),
        params={"webhook_event_id": event.pk, "webhook_id": event.webhook_id},
    )


EVENT_HANDLERS = RegistryView(
    lambda entities: {t: webhook_event_enqueue for e in entities.values() for t in e.events}
)


def webhook_job_run(job: Job) -> dict[str, Any]:
    """JOB_HANDLERS "webhook": apply or soft-delete the event's record; the event is marked
    processed with the result, fenced by the job's lease."""
    event = WebhookEvent.objects.get(pk=job.params["webhook_event_id"])
    result = _webhook_apply(job, event)
    applied = (
        {"mapping_version_id": result["mapping_version_id"]}
        if "mapping_version_id" in result
        else {}
    )
    with transaction.atomic():
        job_fence(job=job, **applied)  # the version applied is written with the lease, fenced
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.Status.PROCESSED, reason="", processed_at=timezone.now()
        )
    return result


def _webhook_apply(job: Job, event: WebhookEvent) -> dict[str, Any]:
    route = ROUTES[event.event_type]
    record = webhook_record(event_type=event.event_type, payload=event.payload or {})
    ghl_id = record_ghl_id(entity=route.entity, record=record)
    # HighLevel's clock: the event's timestamp orders versions that carry no modification time
    # (ContactUpdate's payload has none), and dates a deletion.
    sent_at = (event.payload or {}).get("timestamp")
    location_id = job_location_id(job)
    if route.action == DELETE:
        marked = record_remove(
            location_id=location_id, entity=route.entity, ghl_id=ghl_id, deleted_at=sent_at
        )
        return {"ghl_id": ghl_id, "deleted": marked}
    try:
        result = record_apply(
            location_id=location_id,
            entity=route.entity,
            record=record,
            event_time=sent_at,
            source="webhook",
            job_id=job.pk,
        )
    except NoMapping as exc:
        # The location does not sync this entity: nothing to do, and nothing wrong.
        return {"ghl_id": ghl_id, "skipped": str(exc)}
    return result
