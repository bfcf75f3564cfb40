"""Resync: read one record from HighLevel by id and re-apply the location's current mapping.

For a Rankr contact that drifted, or a HighLevel record Rankr does not have yet. Each request is
a "resync" job (the log of who asked, what came back and what changed in Rankr).
"""

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from integrations.catalog.services import operation_run
from integrations.ghl.errors import GhlError, error_record_missing
from integrations.sync.inbound import record_apply, record_remove
from integrations.sync.jobs import job_enqueue
from integrations.sync.models import Job
from integrations.sync.targets import EventError, job_location_id, location_connection_get
from mappings.entities import ENTITIES, FETCH
from portal.scoping import locations_for_user


class ResyncPairingError(EventError):
    """The record and contact ids given do not go together: nothing is deleted (permanent)."""


def resync_enqueue(
    *,
    location_id: int,
    entity: str,
    ghl_id: str,
    contact_ghl_id: str = "",
    user_id: int | None = None,
) -> Job:
    """Queue a resync of one HighLevel record; returns the job. Bad input raises EventError."""
    fetch = FETCH.get(entity)
    if fetch is None:
        raise EventError(
            f"Records of kind {entity!r} cannot be resynced by id; kinds: {', '.join(FETCH)}."
        )
    ghl_id = (ghl_id or "").strip()
    contact_ghl_id = (contact_ghl_id or "").strip()
    if not ghl_id:
        raise EventError("A HighLevel id is required.")
    if fetch.contact_param and not contact_ghl_id:
        raise EventError(f"A {entity} lives under a contact: give the HighLevel contact id too.")
    if user_id is not None:
        user = get_user_model().objects.filter(pk=user_id).first()
        if user is None or not locations_for_user(user).filter(pk=location_id).exists():
            raise EventError("That location is not one of yours: nothing was resynced.")
    return job_enqueue(
        kind=Job.Kind.RESYNC,
        # Every request is its own job: resyncing twice means fetching twice.
        idempotency_key=f"resync:{uuid.uuid4().hex}",
        location_id=location_id,
        operation=fetch.operation,
        subject=ghl_id,
        params={"entity": entity, "ghl_id": ghl_id, "contact_ghl_id": contact_ghl_id},
        user_id=user_id,
        max_attempts=3,
    )


def resync_job_run(job: Job) -> dict[str, Any]:
    """JOB_HANDLERS "resync": fetch, then map and upsert (or soft-delete if HighLevel lost it)."""
    entity, ghl_id = job.params["entity"], job.params["ghl_id"]
    fetch = FETCH[entity]
    location_id = job_location_id(job)
    connection = location_connection_get(location_id=location_id)
    Job.objects.filter(pk=job.pk).update(connection=connection)
    params = fetch.params(ghl_id=ghl_id, contact_ghl_id=job.params.get("contact_ghl_id", ""))
    try:
        response = operation_run(
            connection_id=connection.pk, operation_id=fetch.operation, params=params, job_id=job.pk
        )
    except GhlError as exc:
        if not error_record_missing(exc):
            raise
        contact_ghl_id = job.params.get("contact_ghl_id", "")
        if fetch.contact_param:
            _contact_pairing_check(entity=entity, job=job, contact_ghl_id=contact_ghl_id)
        deleted = record_remove(
            location_id=location_id, entity=entity, ghl_id=ghl_id, deleted_at=timezone.now()
        )
        return {
            "ghl_id": ghl_id,
            "status": exc.status,
            "trace_id": exc.trace_id,
            "not_in_highlevel": True,
            "deleted": deleted,
        }
    record = fetch.record(response.data)
    if record is None:
        raise EventError(f"HighLevel's answer to {fetch.operation} holds no {entity} record.")
    result = record_apply(
        location_id=location_id, entity=entity, record=record, source="resync", job_id=job.pk
    )
    Job.objects.filter(pk=job.pk).update(mapping_version_id=result["mapping_version_id"])
    return {**result, "status": response.status, "trace_id": response.trace_id}


def _contact_pairing_check(*, entity: str, job: Job, contact_ghl_id: str) -> None:
    """A record under a contact is "not found" also when the contact id given is wrong: it is
    removed from Rankr only when Rankr files it under that same contact. Otherwise nothing is
    deleted and the job fails saying which contact Rankr has."""
    model = ENTITIES[entity].rankr_model
    if model is None:
        return  # Rankr keeps no such records: nothing to delete
    live = model.objects.filter(
        location_id=job_location_id(job), ghl_id=job.params["ghl_id"], deleted_at__isnull=True
    ).first()
    if live is None:
        return  # nothing live to delete
    filed_under = getattr(live, "contact_ghl_id", "")
    if filed_under and filed_under == contact_ghl_id:
        return
    raise ResyncPairingError(
        f"HighLevel has no {entity} {job.params['ghl_id']} under contact {contact_ghl_id}, but "
        + (
            f"Rankr files it under contact {filed_under}: resync with that contact id."
            if filed_under
            else "Rankr does not know its contact, so it cannot tell a deletion from a wrong "
            "contact id."
        )
        + " Nothing was deleted."
    )
