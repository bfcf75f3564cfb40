"""Rankr-side events that HighLevel must hear about: a user created or deleted, a new lead.

Each service changes the Rankr record and queues the "rankr_event" job in the same transaction
(the job is sent to the worker after commit); ``integrations.sync.outbound`` does the HighLevel
side. Call these from every place that creates or deletes such records (the admin does) — there
are no signals behind ``save()``.
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from integrations.sync.jobs import job_enqueue
from integrations.sync.models import Job
from integrations.sync.outbound import (
    CREATE_USER,
    DELETE_USER,
    LEAD_CREATE,
    UPSERT_CONTACT,
    USER_CREATE,
    USER_DELETE,
    event_key,
)
from rankr.models import Contact, RankrUser


def _email_clean(email: str | None, *, required: bool) -> str:
    email = (email or "").strip().lower()
    if not email:
        if required:
            raise ValidationError(
                {"email": "An email is required: HighLevel identifies users by it."}
            )
        return ""
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": f"{email!r} is not an email address."}) from None
    return email


@transaction.atomic
def rankr_user_create(
    *,
    location_id: int,
    email: str,
    full_name: str = "",
    role: str = "",
    user_id: int | None = None,
) -> RankrUser:
    """Create a Rankr user and queue *Create User* in HighLevel for it."""
    user = RankrUser.objects.create(
        location_id=location_id,
        email=_email_clean(email, required=True),
        full_name=(full_name or "").strip(),
        role=(role or "").strip(),
    )
    job_enqueue(
        kind=Job.Kind.RANKR_EVENT,
        idempotency_key=event_key(event=USER_CREATE, record_id=user.pk),
        location_id=location_id,
        operation=CREATE_USER,
        subject=f"Rankr user {user.pk}",
        params={"event": USER_CREATE, "record_id": user.pk},
        user_id=user_id,
    )
    return user


@transaction.atomic
def rankr_user_delete(*, rankr_user_id: int, user_id: int | None = None) -> Job:
    """Delete a Rankr user and queue *Delete User* in HighLevel for it.

    The job keeps what it needs (HighLevel id, or the email to find the user by) in its input.
    """
    user = RankrUser.objects.select_for_update().get(pk=rankr_user_id)
    values = {"email": user.email, "full_name": user.full_name, "role": user.role}
    job = job_enqueue(
        kind=Job.Kind.RANKR_EVENT,
        idempotency_key=event_key(event=USER_DELETE, record_id=user.pk),
        location_id=user.location_id,
        operation=DELETE_USER,
        subject=user.ghl_id or f"Rankr user {user.pk}",
        params={
            "event": USER_DELETE,
            "record_id": user.pk,
            "ghl_id": user.ghl_id or "",
            "email": user.email,
            "values": values,
        },
        user_id=user_id,
    )
    user.delete()
    return job


@transaction.atomic
def rankr_lead_create(
    *, location_id: int, values: Mapping[str, Any], user_id: int | None = None
) -> Contact:
    """Create a Rankr contact on the Rankr side (a lead) and queue its upsert into HighLevel.

    ``values`` are Contact fields; an email or a phone is required, since HighLevel's upsert
    matches on them (what keeps a retried send from creating a second contact).
    """
    allowed = set(Contact.mapped_field_names())
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValidationError(f"Contacts have no field {', '.join(unknown)}.")
    values = dict(values)
    values["email"] = _email_clean(values.get("email"), required=False)
    if not values["email"] and not (values.get("phone") or "").strip():
        raise ValidationError("A lead needs an email or a phone so HighLevel can match it.")
    lead = Contact.objects.create(location_id=location_id, ghl_id=None, **values)
    job_enqueue(
        kind=Job.Kind.RANKR_EVENT,
        idempotency_key=event_key(event=LEAD_CREATE, record_id=lead.pk),
        location_id=location_id,
        operation=UPSERT_CONTACT,
        subject=f"Rankr contact {lead.pk}",
        params={"event": LEAD_CREATE, "record_id": lead.pk},
        user_id=user_id,
    )
    return lead
