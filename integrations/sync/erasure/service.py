"""Erase a person's personal data from every store, leaving tombstones and one audit event.

This is the one exception to the logs' append-only rule: the admins never edit a log row, and
only these services rewrite them, each run recorded as an audit event (``person.erased``,
``records.personal_data_expired``) that holds counts and ids, never the person's data.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from integrations.sync.erasure.person import Person, email_normal, phone_normal
from integrations.sync.erasure.stores import STORES, Store, stores_by_record
from integrations.sync.jobs import job_enqueue
from integrations.sync.models import ErasureTombstone, Job
from portal.errors import PortalError
from portal.models import AuditEvent, Location
from portal.scoping import locations_for_user
from rankr.models import RECORD_MODELS, Contact, RankrRecord

PERSON_LINK = "contact_ghl_id"  # the field by which a record hangs under a contact
EXPIRY_GATE = "integrations:erasure-expiry-ran"
EXPIRY_BATCH = 500


class ErasureError(PortalError, ValueError):
    """An erasure that cannot be done as asked (unknown person, bad address); nothing changed."""

    permanent = True


def identifier_hash(*, kind: str, value: str) -> str:
    """A keyed hash of a normalised e-mail address or phone number (HMAC-SHA256 under the
    portal's secret key): recognisable again, not reversible without the key."""
    if not value:
        return ""
    return salted_hmac("integrations.erasure", f"{kind}:{value}", algorithm="sha256").hexdigest()


@dataclass
class Erasure:
    """What one erasure did: tombstones written, rows changed per store, its audit event."""

    tombstone_ids: list[int] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    audit_event_id: int | None = None


@dataclass
class _Found:
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    subjects: list[RankrRecord] = field(default_factory=list)
    ghl_ids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    pks: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def add(self, record: RankrRecord) -> None:
        """Take ``record`` as the person's: its ids, and the addresses, numbers and names it
        holds (masked wherever the person is mentioned)."""
        if record.ghl_id:
            self.ghl_ids[record.KIND].add(record.ghl_id)
        self.pks[record.KIND].add(record.pk)
        values = {
            name: value.strip()
            for name in record.PERSONAL_FIELDS
            if isinstance(value := getattr(record, name, ""), str) and value.strip()
        }
        if values.get("email"):
            self.emails.add(email_normal(values["email"]))
        if phone_normal(values.get("phone", "")):
            self.phones.add(phone_normal(values["phone"]))
        self.names |= {values[n] for n in ("first_name", "last_name", "full_name") if n in values}
        full = f"{values.get('first_name', '')} {values.get('last_name', '')}".strip()
        if " " in full:
            self.names.add(full)

    def person(self, location_id: int) -> Person:
        return Person(
            location_id=location_id,
            emails=tuple(sorted(self.emails)),
            phones=tuple(sorted(self.phones)),
            names=tuple(sorted(self.names)),
            ghl_ids={k: tuple(sorted(v)) for k, v in self.ghl_ids.items() if v},
            record_pks={k: tuple(sorted(v)) for k, v in self.pks.items() if v},
        )


def _identity_query(model: type[RankrRecord], emails: set[str], phones: set[str]) -> Q | None:
    query = Q()
    if "email" in model.IDENTITY_FIELDS:
        for email in emails:
            query |= Q(email__iexact=email)
    if phones and "phone" in model.IDENTITY_FIELDS:
        query |= Q(phone__in=[*phones, *(p.lstrip("+") for p in phones)])
    return query or None


def _subjects_find(found: "_Found", location_id: int, contact_id: int | None) -> None:
    """The records that are the person: by e-mail, phone or contact; then again by the
    addresses and numbers those records hold (a contact found by phone names the person's
    e-mail, which a Rankr user may hold too)."""
    seen: set[tuple[str, int]] = set()
    for _ in range(2):
        emails, phones = set(found.emails), set(found.phones)
        for model in RECORD_MODELS.values():
            query = _identity_query(model, emails, phones)
            if contact_id is not None and model.KIND == "contact":
                query = (query or Q()) | Q(pk=contact_id)
            if query is None:
                continue
            for record in model.objects.filter(query, location_id=location_id):
                if (record.KIND, record.pk) not in seen:
                    seen.add((record.KIND, record.pk))
                    found.subjects.append(record)
                    found.add(record)
        if (found.emails, found.phones) == (emails, phones):
            return


def _children_add(found: _Found, location_id: int) -> None:
    contacts = sorted(found.ghl_ids.get("contact", ()))
    if not contacts:
        return
    for model in RECORD_MODELS.values():
        if any(f.name == PERSON_LINK for f in model._meta.concrete_fields):
            link = {f"{PERSON_LINK}__in": contacts}
            rows = model.objects.filter(location_id=location_id, **link)
            for pk, ghl_id in rows.values_list("pk", "ghl_id"):
                found.pks[model.KIND].add(pk)
                if ghl_id:
                    found.ghl_ids[model.KIND].add(ghl_id)


def _stores_run(person: Person, stores: list[Store]) -> dict[str, int]:
    return {store.name: store.scrub(person) for store in stores}


def person_erase(
    *,
    location_id: int,
    email: str | None = None,
    phone: str | None = None,
    contact_id: int | None = None,
    actor_id: int | None = None,
) -> Erasure:
    """Erase the person of ``location_id`` known by ``email``, ``phone`` or Rankr contact
    ``contact_id`` from every store in ``STORES``.

    Their Rankr records (contacts and Rankr users matching, found deleted or not) and the records
    under their contacts keep their rows with personal fields emptied; each matching record gets
    an :class:`ErasureTombstone`; history, log bodies, webhook payloads, job inputs and results,
    mapping samples, quarantined records and export queries that mention them are masked. One
    ``person.erased`` audit event holds what was done (counts and ids only). Asking again for a
    person already erased scrubs again what arrived since (no new tombstone).
    Raises :class:`ErasureError` when nobody matches (nothing is changed).
    """
    location = Location.objects.filter(pk=location_id).first()
    if location is None:
        raise ErasureError(f"No location with id {location_id}; nothing was erased.")
    email = email_normal(email or "")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ErasureError("That is not an e-mail address; nothing was erased.") from None
    phone_given = phone or ""
    phone = phone_normal(phone_given)
    if phone_given and not phone:
        raise ErasureError("A phone number needs at least 5 digits; nothing was erased.")
    if not (email or phone or contact_id):
        raise ErasureError("Say whom to erase: an e-mail address, a phone number or a contact.")

    found = _Found()
    found.emails |= {email} if email else set()
    found.phones |= {phone} if phone else set()
    _subjects_find(found, location_id, contact_id)
    hashes = Q()
    for kind, value in (("email", email), ("phone", phone)):
        if value:
            hashes |= Q(**{f"{kind}_hash": identifier_hash(kind=kind, value=value)})
    earlier = (
        list(ErasureTombstone.objects.filter(hashes, location_id=location_id)) if hashes else []
    )
    if not found.subjects and not earlier:
        raise ErasureError(
            f"No Rankr contact or user of {location.name} matches that "
            f"{'e-mail address' if email else ''}{' or ' if email and phone else ''}"
            f"{'phone number' if phone else ''}{'contact' if not (email or phone) else ''}"
            "; nothing was erased."
        )
    for tombstone in earlier:
        if tombstone.ghl_id:
            found.ghl_ids[tombstone.entity].add(tombstone.ghl_id)
        if tombstone.record_id:
            found.pks[tombstone.entity].add(tombstone.record_id)
    _children_add(found, location_id)
    person = found.person(location_id)

    result = Erasure()
    with transaction.atomic():
        result.rows = _stores_run(person, STORES)
        tombstones = ErasureTombstone.objects.bulk_create(
            [
                ErasureTombstone(
                    location_id=location_id,
                    entity=record.KIND,
                    ghl_id=record.ghl_id or "",
                    record_id=record.pk,
                    email_hash=identifier_hash(
                        kind="email", value=email_normal(getattr(record, "email", "") or email)
                    ),
                    phone_hash=identifier_hash(
                        kind="phone", value=phone_normal(getattr(record, "phone", "") or phone)
                    ),
                    reason=ErasureTombstone.Reason.REQUEST,
                    erased_by_id=actor_id,
                )
                for record in found.subjects
            ]
        )
        result.tombstone_ids = [t.pk for t in tombstones]
        event = AuditEvent.objects.create(
            actor_id=actor_id,
            action="person.erased",
            location_id=location_id,
            target=f"{len(found.subjects)} record(s), tombstones "
            + ", ".join(f"#{pk}" for pk in result.tombstone_ids),
            detail={
                "tombstones": result.tombstone_ids,
                "earlier_tombstones": [t.pk for t in earlier],
                "rows": result.rows,
                "by": "e-mail" if email else "phone" if phone else "contact",
            },
        )
        result.audit_event_id = event.pk
    return result


def erasure_enqueue(*, contact_id: int, user_id: int) -> Job:
    """Queue the erasure of the person of Rankr contact ``contact_id`` (the admin's action): the
    job holds the contact's id only, never its address. Raises :class:`ErasureError` for a
    contact that is not in the user's locations."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first()
    contact = Contact.objects.filter(pk=contact_id).only("pk", "location_id", "ghl_id").first()
    if (
        user is None
        or contact is None
        or not locations_for_user(user).filter(pk=contact.location_id).exists()
    ):
        raise ErasureError(f"No contact {contact_id} in your locations; nothing was erased.")
    return job_enqueue(
        kind=Job.Kind.ERASE,
        idempotency_key=f"erase:{uuid.uuid4().hex}",
        location_id=contact.location_id,
        subject=contact.ghl_id or f"contact {contact.pk}",
        params={"contact_id": contact.pk},
        user_id=user_id,
    )


def erasure_job_run(job: Job) -> dict[str, Any]:
    """JOB_HANDLERS "erase": :func:`person_erase` of the job's contact, as the job's creator."""
    if job.location_id is None:
        raise ErasureError("The erasure job names no location; nothing was erased.")
    erasure = person_erase(
        location_id=job.location_id,
        contact_id=int(job.params["contact_id"]),
        actor_id=job.created_by_id,
    )
    return {
        "tombstones": erasure.tombstone_ids,
        "audit_event": erasure.audit_event_id,
        "rows": erasure.rows,
    }


def _expired(model: type[RankrRecord], before: datetime) -> "list[RankrRecord]":
    erased = ErasureTombstone.objects.filter(
        location_id=OuterRef("location_id"),
        entity=model.KIND,
        ghl_id=OuterRef("ghl_id"),
        erased_at__gte=OuterRef("deleted_at"),
    )
    rows = (
        model.objects.filter(deleted_at__lt=before, ghl_id__isnull=False)
        .exclude(Exists(erased))
        .order_by("deleted_at", "pk")
    )
    return list(rows[:EXPIRY_BATCH])


def deleted_records_erase(*, before: datetime) -> dict[str, int]:
    """Records deleted in HighLevel before ``before`` lose their personal data (the record and
    those under it, their history, their kept payloads) and get a tombstone; returns how many
    per kind. At most
    ``EXPIRY_BATCH`` per kind a call (the tick calls again)."""
    done: dict[str, int] = {}
    stores = stores_by_record()
    with transaction.atomic():
        for kind, model in RECORD_MODELS.items():
            if not model.PERSONAL_FIELDS:
                continue
            records = _expired(model, before)
            for record in records:
                found = _Found()
                found.add(record)
                _children_add(found, record.location_id)  # a deleted contact's notes, tasks…
                _stores_run(found.person(record.location_id), stores)
            ErasureTombstone.objects.bulk_create(
                [
                    ErasureTombstone(
                        location_id=record.location_id,
                        entity=kind,
                        ghl_id=record.ghl_id or "",
                        record_id=record.pk,
                        email_hash=identifier_hash(
                            kind="email", value=email_normal(getattr(record, "email", "") or "")
                        ),
                        phone_hash=identifier_hash(
                            kind="phone", value=phone_normal(getattr(record, "phone", "") or "")
                        ),
                        reason=ErasureTombstone.Reason.EXPIRED,
                    )
                    for record in records
                ]
            )
            if records:
                done[kind] = len(records)
        if done:
            AuditEvent.objects.create(
                action="records.personal_data_expired",
                target=f"{sum(done.values())} record(s) deleted in HighLevel",
                detail={"records": done, "deleted_before": before.isoformat()},
            )
    return done


def deleted_records_erase_due(*, now: datetime | None = None) -> dict[str, int] | None:
    """From the scheduler tick, at most hourly: erase records deleted in HighLevel more than
    ``ERASE_DELETED_RECORDS_AFTER_DAYS`` ago. None when not due (or the setting is 0)."""
    days = settings.ERASE_DELETED_RECORDS_AFTER_DAYS
    if not days or not cache.add(EXPIRY_GATE, 1, timeout=3600):
        return None
    now = now or timezone.now()
    return deleted_records_erase(before=now - timedelta(days=days))
