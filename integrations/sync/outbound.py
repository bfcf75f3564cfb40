"""Rankr → HighLevel: Rankr users and leads, sent as "rankr_event" jobs.

Each handler is safe to run again after a timeout whose request did reach HighLevel: before
creating, it uses what an earlier attempt recorded (the job's result, the record's HighLevel id)
or looks the record up by its natural key (email, through the complete user search) and adopts
it; only a look-up that proves absence creates (``creates.create_once``: the door never re-sends
the create blind). A lead is an upsert by email/phone, which HighLevel de-duplicates. The
HighLevel id is recorded on the job (``job_checkpoint``) and on the Rankr record before the job
is acknowledged.
"""

import enum
import secrets
from collections.abc import Callable, Sequence
from typing import Any, Literal

from integrations.catalog.adopt import user_find_by_email
from integrations.catalog.services import operation_run
from integrations.ghl.errors import GhlInvalid, GhlNotFound
from integrations.ghl.models import Connection
from integrations.sync.creates import create_once
from integrations.sync.inbound import record_ghl_id_set
from integrations.sync.jobs import job_checkpoint
from integrations.sync.models import Job
from integrations.sync.targets import (
    EventError,
    job_location_id,
    location_connection_get,
    mapping_version_find,
)
from mappings.entities import RANKR_TO_GHL
from mappings.models import MappingVersion
from mappings.services import MappingError, mapping_apply
from portal.errors import PortalError
from rankr.models import Contact, RankrRecord, RankrUser

USER_CREATE = "user_create"
USER_DELETE = "user_delete"
LEAD_CREATE = "lead_create"

CREATE_USER = "POST /users/"
DELETE_USER = "DELETE /users/{userId}"
LIST_USERS = "GET /users/"
UPSERT_CONTACT = "POST /contacts/upsert"
CREATE_CONTACT = "POST /contacts/"


class EventNotReady(PortalError):
    """Something this job depends on has not finished yet: try again shortly."""

    permanent = False


def event_key(*, event: str, record_id: int) -> str:
    return f"rankr_event:{event}:{record_id}"


def rankr_record_dict(record: RankrRecord) -> dict[str, Any]:
    """A Rankr record as the source of a Rankr → HighLevel mapping."""
    values = {name: getattr(record, name) for name in record.mapped_field_names()}
    return {**values, "id": record.pk, "ghl_id": record.ghl_id}


def _mapped(
    *, location_id: int, entity: str, operations: Sequence[str], record: dict[str, Any]
) -> tuple[dict[str, Any], MappingVersion]:
    version = mapping_version_find(
        location_id=location_id, entity=entity, direction=RANKR_TO_GHL, operation_keys=operations
    )
    if version is None:
        raise EventError(
            f"The location has no Rankr → HighLevel mapping for {entity}s ({operations[0]}): "
            "apply the flow template, then re-run."
        )
    try:
        return mapping_apply(mapping_version=version, record=record), version
    except MappingError as exc:
        raise EventError(str(exc)) from None


def _acknowledge(
    job: Job, *, model: type[RankrRecord], record: RankrRecord, ghl_id: str, **more: Any
) -> dict[str, Any]:
    """Record the HighLevel id on the job, then on the Rankr record: only then is it done."""
    job_checkpoint(job=job, result={"ghl_id": ghl_id, **more})
    record_ghl_id_set(model=model, pk=record.pk, location_id=record.location_id, ghl_id=ghl_id)
    return {"ghl_id": ghl_id, **more}


def _user_find(*, connection: Connection, email: str, job: Job) -> dict[str, Any] | None:
    """The HighLevel user of the location with this email (case-insensitive), or None."""
    if not email:
        return None
    return user_find_by_email(connection_id=connection.pk, email=email, job_id=job.pk)


def user_create_run(job: Job) -> dict[str, Any]:
    user = RankrUser.objects.select_related("location").filter(pk=job.params["record_id"]).first()
    if user is None:
        return {"skipped": "The Rankr user was deleted before it reached HighLevel."}
    known = job.result.get("ghl_id") or user.ghl_id
    if known:  # an earlier attempt got this far
        return _acknowledge(job, model=RankrUser, record=user, ghl_id=known)
    connection = location_connection_get(location_id=user.location_id)
    Job.objects.filter(pk=job.pk).update(connection=connection)
    body, version = _mapped(
        location_id=user.location_id,
        entity="user",
        operations=(CREATE_USER,),
        record=rankr_record_dict(user),
    )
    Job.objects.filter(pk=job.pk).update(mapping_version_id=version.pk)
    body = {
        **body,
        "email": body.get("email") or user.email,
        "locationIds": [user.location.location_id],
        # HighLevel requires a password; the user sets their own through HighLevel's reset.
        "password": secrets.token_urlsafe(18) + "aA1!",
    }
    # HighLevel does not de-duplicate users: look up by email first, every time.
    created = create_once(
        job=job, connection_id=connection.pk, operation_id=CREATE_USER, body=body, look_first=True
    )
    if not created.ghl_id:
        raise EventError("HighLevel answered Create User without the user's id.")
    if created.adopted:
        return _acknowledge(job, model=RankrUser, record=user, ghl_id=created.ghl_id, adopted=True)
    return _acknowledge(
        job,
        model=RankrUser,
        record=user,
        ghl_id=created.ghl_id,
        status=created.status,
        trace_id=created.trace_id,
    )


class _NotSent(enum.Enum):
    NOT_SENT = "not sent"


NOT_SENT = _NotSent.NOT_SENT  # the create finished without sending anything


def _created_user_id(job: Job) -> str | Literal[_NotSent.NOT_SENT] | None:
    """The HighLevel id this delete is about: from its input, or from the user's create job.

    Returns None when only a look-up by email can tell (no create job, or one that failed after
    perhaps reaching HighLevel), and NOT_SENT when the create finished without sending anything.
    """
    if job.params.get("ghl_id"):
        return str(job.params["ghl_id"])
    create = Job.objects.filter(
        idempotency_key=event_key(event=USER_CREATE, record_id=job.params["record_id"])
    ).first()
    if create is None:
        return None
    if create.status in (Job.Status.QUEUED, Job.Status.RUNNING):
        raise EventNotReady("The user's Create User job has not finished yet.", retry_after=30)
    if create.result.get("ghl_id"):
        return str(create.result["ghl_id"])
    return NOT_SENT if create.status == Job.Status.SUCCEEDED else None


def user_delete_run(job: Job) -> dict[str, Any]:
    location_id = job_location_id(job)
    connection = location_connection_get(location_id=location_id)
    Job.objects.filter(pk=job.pk).update(connection=connection)
    ghl_id = _created_user_id(job)
    if ghl_id is None:
        found = _user_find(connection=connection, email=job.params.get("email", ""), job=job)
        ghl_id = found["id"] if found else None
    if ghl_id is None or ghl_id is NOT_SENT:
        return {"skipped": "The user never reached HighLevel: nothing to delete."}
    job_checkpoint(job=job, result={"ghl_id": ghl_id})
    params = {"userId": ghl_id}
    version = mapping_version_find(
        location_id=location_id,
        entity="user",
        direction=RANKR_TO_GHL,
        operation_keys=(DELETE_USER,),
    )
    if version is not None and version.mapping.operation_key == DELETE_USER:
        record = {**job.params.get("values", {}), "id": job.params["record_id"], "ghl_id": ghl_id}
        try:
            params = {"userId": ghl_id, **mapping_apply(mapping_version=version, record=record)}
        except MappingError as exc:
            raise EventError(str(exc)) from None
    try:
        response = operation_run(
            connection_id=connection.pk, operation_id=DELETE_USER, params=params, job_id=job.pk
        )
    except (GhlNotFound, GhlInvalid) as exc:
        # Deleted already (by an earlier attempt, or in HighLevel). HighLevel answers a missing
        # resource 400 "... not found" where the operation documents no 404.
        if isinstance(exc, GhlInvalid) and "not found" not in exc.message.lower():
            raise
        return {"ghl_id": ghl_id, "already_deleted": True, "status": exc.status}
    return {"ghl_id": ghl_id, "status": response.status, "trace_id": response.trace_id}


def lead_create_run(job: Job) -> dict[str, Any]:
    lead = Contact.objects.filter(pk=job.params["record_id"]).first()
    if lead is None:
        return {"skipped": "The Rankr lead was deleted before it reached HighLevel."}
    known = job.result.get("ghl_id") or lead.ghl_id
    if known:
        return _acknowledge(job, model=Contact, record=lead, ghl_id=known)
    connection = location_connection_get(location_id=lead.location_id)
    Job.objects.filter(pk=job.pk).update(connection=connection)
    body, version = _mapped(
        location_id=lead.location_id,
        entity="contact",
        operations=(UPSERT_CONTACT, CREATE_CONTACT),
        record=rankr_record_dict(lead),
    )
    Job.objects.filter(pk=job.pk).update(mapping_version_id=version.pk)
    if not (body.get("email") or body.get("phone")):
        raise EventError(
            "The lead has no email or phone after mapping: HighLevel's upsert needs one to match "
            "on, so it could not be sent safely. Add one and re-run."
        )
    # Upsert matches by email/phone (the location's duplicate rule): sending it twice is harmless.
    response = operation_run(
        connection_id=connection.pk, operation_id=UPSERT_CONTACT, body=body, job_id=job.pk
    )
    contact = (response.data or {}).get("contact") or {}
    if not contact.get("id"):
        raise EventError("HighLevel answered the contact upsert without the contact's id.")
    return _acknowledge(
        job,
        model=Contact,
        record=lead,
        ghl_id=contact["id"],
        new=bool((response.data or {}).get("new")),
        status=response.status,
        trace_id=response.trace_id,
    )


RUNNERS: dict[str, Callable[[Job], dict[str, Any]]] = {
    USER_CREATE: user_create_run,
    USER_DELETE: user_delete_run,
    LEAD_CREATE: lead_create_run,
}


def rankr_event_job_run(job: Job) -> dict[str, Any]:
    """JOB_HANDLERS "rankr_event"."""
    runner = RUNNERS.get(job.params.get("event"))
    if runner is None:
        raise EventError(f"Unknown Rankr event {job.params.get('event')!r}.")
    return runner(job)
