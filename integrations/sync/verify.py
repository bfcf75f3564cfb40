"""The verifier: proof, per location and entity, that Rankr's copy equals HighLevel.

Each day (a django-q2 schedule, ``verifications_schedule``) every connected location gets one
"verify" job. For each entity the location maps from HighLevel into Rankr it

1. draws a random sample of Rankr's live records and re-reads each from HighLevel by id (the
   entity's ``fetch``); a 404 means HighLevel no longer has it;
2. reads a random page of HighLevel's own list (contacts: a random page of ``POST
   /contacts/search``; tasks, notes, appointments: the lists of the contacts on that page), so a
   record Rankr lost (deleted behind the portal's back) is found too;
3. maps every HighLevel record with the location's current mapping and compares it, field by
   field, with Rankr's row;
4. repairs what differs through the normal path (``mapping_page_apply``, history rows naming the
   job) and soft-deletes what HighLevel no longer has;
5. stores one :class:`~integrations.sync.models.Verification` row: sample size, mismatch rate,
   what was missing or gone, requests spent.

The sample size (``VERIFY_SAMPLE_SIZE``) is cut so the day's verification spends at most
``VERIFY_BUDGET_SHARE`` of the location's daily HighLevel budget.
"""

import logging
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.utils import timezone

from integrations.catalog.services import operation_run
from integrations.ghl.errors import GhlError, error_record_missing
from integrations.ghl.models import Connection
from integrations.sync.alerts import alert_raise
from integrations.sync.inbound import record_remove
from integrations.sync.jobs import job_enqueue
from integrations.sync.leases import lease_end
from integrations.sync.models import EntityCoverage, Job, Verification
from integrations.sync.samples import answer_records
from integrations.sync.targets import EventError, location_connection_get, mapping_version_find
from mappings.entities import ENTITIES, FETCH, GHL_TO_RANKR
from mappings.models import MappingVersion
from mappings.rules import MappingError, path_get
from mappings.services import mapping_apply, mapping_page_apply
from portal.models import AlertCause
from rankr.models import RankrRecord

if TYPE_CHECKING:
    from django.contrib.contenttypes.fields import GenericForeignKey
    from django.db.models.fields.reverse_related import ForeignObjectRel

logger = logging.getLogger(__name__)

LOCATION_DAILY_BUDGET = 200_000  # HighLevel's requests per day per app and location
SEARCH_CONTACTS = "POST /contacts/search"
# Children HighLevel lists only per contact: the list operation, by entity.
CONTACT_LISTS = {
    "task": "GET /contacts/{contactId}/tasks",
    "note": "GET /contacts/{contactId}/notes",
    "appointment": "GET /contacts/{contactId}/appointments",
}
CHILD_CONTACTS = 5  # contacts whose children HighLevel's side of the sample reads
DETAILS_KEPT = 20


@dataclass
class _Tally:
    requests: int = 0
    compared: set[str] = field(default_factory=set)
    mismatched: dict[str, list[str]] = field(default_factory=dict)  # ghl id -> fields differing
    missing: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    fresh: dict[str, dict[str, Any]] = field(default_factory=dict)  # ghl id -> HighLevel record


def verify_sample_size(*, entities: int) -> int:
    """Records per entity: the setting, cut to what the budget share allows.

    Each sampled record costs one read; HighLevel's side costs about as much again.
    """
    allowed = int(LOCATION_DAILY_BUDGET * settings.VERIFY_BUDGET_SHARE) // max(1, 2 * entities)
    return max(1, min(int(settings.VERIFY_SAMPLE_SIZE), allowed))


def verify_entities(*, location_id: int) -> list[str]:
    """The entities the location maps from HighLevel into Rankr that can be read by id."""
    found = []
    for key, entity in ENTITIES.items():
        if entity.rankr_model is None or key not in FETCH:
            continue
        if mapping_version_find(location_id=location_id, entity=key, direction=GHL_TO_RANKR):
            found.append(key)
    return found


def verify_enqueue(
    *, location_id: int, user_id: int | None = None, label: str = "", start_in: float = 0
) -> Job:
    """Queue the location's verification (once per day, or once per ``label``); with
    ``start_in`` seconds, the dispatcher's tick sends it then (a new job only)."""
    label = label or timezone.now().date().isoformat()
    with transaction.atomic():
        job = job_enqueue(
            kind=Job.Kind.VERIFY,
            idempotency_key=f"verify:{location_id}:{label}",
            location_id=location_id,
            subject=f"location {location_id}",
            params={"location_id": location_id},
            user_id=user_id,
            max_attempts=3,
            send=start_in <= 0,
        )
        if start_in > 0:
            Job.objects.filter(
                pk=job.pk,
                status=Job.Status.QUEUED,
                attempts=0,
                sent_at__isnull=True,
                next_attempt_at__isnull=True,
            ).update(next_attempt_at=lease_end(seconds=start_in))
    return job


def verifications_schedule() -> int:
    """The daily schedule's work: one verification per location with an active connection,
    started evenly over ``VERIFY_SPREAD_S`` (the first at once)."""
    location_ids = (
        Connection.objects.filter(
            kind=Connection.Kind.LOCATION,
            status=Connection.Status.ACTIVE,
            location__isnull=False,
        )
        .values_list("location_id", flat=True)
        .distinct()
    )
    ordered = sorted(set(location_ids))
    for position, location_id in enumerate(ordered):
        verify_enqueue(
            location_id=location_id, start_in=settings.VERIFY_SPREAD_S * position / len(ordered)
        )
    return len(ordered)


def verify_job_run(job: Job) -> dict[str, Any]:
    """JOB_HANDLERS "verify": verify every entity of the job's location; results per entity."""
    location_id = job.location_id
    if location_id is None:
        raise EventError("A verification job names its location.")
    connection = location_connection_get(location_id=location_id)
    Job.objects.filter(pk=job.pk).update(connection=connection)
    entities = verify_entities(location_id=location_id)
    size = verify_sample_size(entities=len(entities))
    results = {}
    for entity in entities:
        row = verification_run(
            location_id=location_id,
            entity=entity,
            connection_id=connection.pk,
            sample_size=size,
            job_id=job.pk,
        )
        results[entity] = {
            "sample_size": row.sample_size,
            "mismatched": row.mismatched,
            "mismatch_rate": round(row.mismatch_rate, 4),
            "repaired": row.repaired,
            "requests": row.requests,
        }
    return {"entities": results, "sample_size": size}


def verification_run(
    *,
    location_id: int,
    entity: str,
    connection_id: int,
    sample_size: int,
    job_id: int | None = None,
    rng: random.Random | None = None,
) -> Verification:
    """Sample, compare, repair and record one entity of one location (see the module's doc)."""
    rng = rng or random.Random()
    version = mapping_version_find(
        location_id=location_id,
        entity=entity,
        direction=GHL_TO_RANKR,
        operation_keys=(FETCH[entity].operation,),
    )
    if version is None:
        raise EventError(f"The location maps no {entity} records from HighLevel.")
    model = ENTITIES[entity].rankr_model
    if model is None:
        raise EventError(f"The {entity} entity keeps no Rankr records to verify.")
    tally = _Tally()
    _rankr_side(tally, model, location_id, entity, connection_id, sample_size, job_id, rng)
    _highlevel_side(tally, model, location_id, entity, connection_id, sample_size, job_id, rng)
    rows = {
        str(r.ghl_id): r
        for r in model.objects.filter(location_id=location_id, ghl_id__in=list(tally.fresh))
    }
    for ghl_id, record in tally.fresh.items():
        tally.compared.add(ghl_id)
        row = rows.get(ghl_id)
        if row is None or row.deleted_at is not None:
            tally.missing.add(ghl_id)
            tally.mismatched[ghl_id] = ["(missing in Rankr)"]
            continue
        differing = record_differences(mapping_version=version, record=record, row=row)
        if differing:
            tally.mismatched[ghl_id] = differing
    repaired = _repair(tally, model, version, location_id, job_id)
    checked = len(tally.compared)
    mismatched = len(tally.mismatched) + len(tally.gone)
    details = [
        {"ghl_id": ghl_id, "fields": fields}
        for ghl_id, fields in list(tally.mismatched.items())[:DETAILS_KEPT]
    ] + [{"ghl_id": ghl_id, "fields": ["(gone from HighLevel)"]} for ghl_id in sorted(tally.gone)][
        :DETAILS_KEPT
    ]
    verification = Verification.objects.create(
        location_id=location_id,
        entity=entity,
        job_id=job_id,
        sample_size=checked,
        mismatched=mismatched,
        missing=len(tally.missing),
        gone=len(tally.gone),
        repaired=repaired,
        mismatch_rate=(mismatched / checked) if checked else 0.0,
        coverage_age_s=coverage_age_seconds(location_id=location_id, entity=entity),
        requests=tally.requests,
        details=details,
    )
    verification_alerts(verification=verification)
    logger.info(
        "verified %s at location %s: %s of %s differed, %s repaired",
        entity,
        location_id,
        mismatched,
        checked,
        repaired,
    )
    return verification


def verification_alerts(*, verification: Verification) -> list[str]:
    """Raise the alerts a measurement calls for: the verified mismatch rate or the coverage age
    past its threshold (``VERIFY_ALERT_MISMATCH_RATE``, ``VERIFY_ALERT_COVERAGE_HOURS``). The
    alerts machinery groups them by agency and cause and sends each at most hourly per location.
    """
    raised: list[str] = []
    label = ENTITIES[verification.entity].label.lower()
    if verification.sample_size and (
        verification.mismatch_rate > settings.VERIFY_ALERT_MISMATCH_RATE
    ):
        alert_raise(
            cause=AlertCause.MISMATCH,
            location_id=verification.location_id,
            detail={
                "entity": verification.entity,
                "mismatch_rate": round(verification.mismatch_rate, 4),
                "message": f"{label}s: {verification.mismatched} of {verification.sample_size} "
                f"sampled differed ({verification.mismatch_rate:.1%}), "
                f"{verification.repaired} repaired",
            },
        )
        raised.append(AlertCause.MISMATCH)
    limit_s = settings.VERIFY_ALERT_COVERAGE_HOURS * 3600
    if verification.coverage_age_s is not None and verification.coverage_age_s > limit_s:
        alert_raise(
            cause=AlertCause.COVERAGE,
            location_id=verification.location_id,
            detail={
                "entity": verification.entity,
                "coverage_age_s": verification.coverage_age_s,
                "message": f"{label}s: every record last confirmed "
                f"{verification.coverage_age_s / 3600:.0f} h ago",
            },
        )
        raised.append(AlertCause.COVERAGE)
    return raised


def coverage_age_seconds(*, location_id: int, entity: str) -> int | None:
    """How long since every record of the entity was last confirmed by a complete reconciliation
    walk (``EntityCoverage``); None while no walk has completed."""
    coverage = EntityCoverage.objects.filter(location_id=location_id, entity=entity).first()
    age = coverage.age_s(timezone.now()) if coverage is not None else None
    return None if age is None else int(age)


def _fetch(
    connection_id: int, operation: str, params: dict[str, str], job_id: int | None, tally: _Tally
) -> Any:
    tally.requests += 1
    return operation_run(
        connection_id=connection_id, operation_id=operation, params=params, job_id=job_id
    ).data


def _rankr_side(
    tally: _Tally,
    model: type[RankrRecord],
    location_id: int,
    entity: str,
    connection_id: int,
    size: int,
    job_id: int | None,
    rng: random.Random,
) -> None:
    """Rankr's random sample, each re-read from HighLevel by id."""
    fetch = FETCH[entity]
    live = model.objects.filter(
        location_id=location_id, deleted_at__isnull=True, ghl_id__isnull=False
    )
    ids = list(live.values_list("pk", flat=True))
    chosen = rng.sample(ids, min(size, len(ids)))
    for row in live.filter(pk__in=chosen):
        ghl_id = str(row.ghl_id)
        params = fetch.params(
            ghl_id=ghl_id, contact_ghl_id=getattr(row, "contact_ghl_id", "") or ""
        )
        try:
            data = _fetch(connection_id, fetch.operation, params, job_id, tally)
        except GhlError as exc:
            if not error_record_missing(exc):
                raise
            tally.compared.add(ghl_id)
            tally.gone.add(ghl_id)
            continue
        record = fetch.record(data)
        if record is not None:
            tally.fresh[ghl_id] = record


def _highlevel_side(
    tally: _Tally,
    model: type[RankrRecord],
    location_id: int,
    entity: str,
    connection_id: int,
    size: int,
    job_id: int | None,
    rng: random.Random,
) -> None:
    """A random page of HighLevel's own list: finds records Rankr lost."""
    if entity != "contact" and entity not in CONTACT_LISTS:
        return
    contacts = _contacts_page(tally, location_id, connection_id, size, job_id, rng)
    id_path = ENTITIES[entity].id_path
    if entity == "contact":
        found = contacts
    else:
        found = []
        for contact in contacts[:CHILD_CONTACTS]:
            contact_id = contact.get("id")
            if not isinstance(contact_id, str) or not contact_id:
                continue
            operation = CONTACT_LISTS[entity]
            try:
                data = _fetch(connection_id, operation, {"contactId": contact_id}, job_id, tally)
            except GhlError as exc:
                logger.warning("verify: %s for contact %s: %s", operation, contact_id, exc)
                continue
            for record in answer_records(operation_key=operation, data=data):
                record.setdefault("contactId", contact_id)
                found.append(record)
    for record in found:
        ghl_id = path_get(record, id_path)
        if isinstance(ghl_id, str) and ghl_id and ghl_id not in tally.fresh:
            tally.fresh[ghl_id] = record


def _contacts_page(
    tally: _Tally,
    location_id: int,
    connection_id: int,
    size: int,
    job_id: int | None,
    rng: random.Random,
) -> list[dict[str, Any]]:
    from rankr.models import Contact  # the count only sizes the random page

    known = Contact.objects.filter(location_id=location_id, deleted_at__isnull=True).count()
    page = rng.randint(1, max(1, math.ceil(known / size)))
    location_ghl_id = (
        Connection.objects.filter(pk=connection_id).values_list("location__location_id", flat=True)
    ).first()
    for attempt_page in dict.fromkeys((page, 1)):
        body = {"locationId": location_ghl_id, "page": attempt_page, "pageLimit": size}
        tally.requests += 1
        try:
            data = operation_run(
                connection_id=connection_id,
                operation_id=SEARCH_CONTACTS,
                body=body,
                job_id=job_id,
            ).data
        except GhlError as exc:
            logger.warning("verify: contact search failed: %s", exc)
            return []
        records = answer_records(operation_key=SEARCH_CONTACTS, data=data)
        if records:
            return records
    return []


def record_differences(
    *, mapping_version: MappingVersion, record: dict[str, Any], row: models.Model
) -> list[str]:
    """The Rankr fields whose value differs from ``record`` mapped by ``mapping_version``."""
    try:
        values = mapping_apply(mapping_version=mapping_version, record=record)
    except MappingError as exc:
        return [f"(cannot map: {exc.target or 'record'})"]
    differing = []
    for name, value in values.items():
        try:
            model_field = row._meta.get_field(name)
        except FieldDoesNotExist:  # not a column (mapping_page_apply refuses it too)
            differing.append(name)
            continue
        if not _same(model_field, value, getattr(row, name)):
            differing.append(name)
    return differing


def _same(
    model_field: "models.Field[Any, Any] | ForeignObjectRel | GenericForeignKey",
    mapped: object,
    stored: object,
) -> bool:
    if mapped in (None, "") and stored in (None, ""):
        return True
    if not isinstance(model_field, models.Field):  # a relation, not a column: it differs
        return False
    if isinstance(model_field, models.DateTimeField):
        return _aware(model_field.to_python(mapped)) == _aware(model_field.to_python(stored))
    if isinstance(model_field, models.JSONField):
        return mapped == stored
    try:
        mapped_value: object = model_field.to_python(mapped)
        stored_value: object = model_field.to_python(stored)
        return mapped_value == stored_value
    except Exception:  # noqa: BLE001  (a value the field refuses: it differs)
        return False


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _repair(
    tally: _Tally,
    model: type[RankrRecord],
    version: MappingVersion,
    location_id: int,
    job_id: int | None,
) -> int:
    """Write HighLevel's version of every mismatched record; soft-delete what HighLevel lost."""
    repaired = 0
    records = [tally.fresh[ghl_id] for ghl_id in tally.mismatched if ghl_id in tally.fresh]
    if records:
        with transaction.atomic():
            # HighLevel's answer now is the truth: forget the stored version so it is re-applied.
            model.objects.filter(location_id=location_id, ghl_id__in=list(tally.mismatched)).update(
                fingerprint="", source_changed_at=None, source_tiebreak=""
            )
            result = mapping_page_apply(
                mapping_version=version,
                location_id=location_id,
                records=records,
                source="verifier",
                job_id=job_id,
            )
        repaired += result.counts.created + result.counts.updated
    for ghl_id in tally.gone:
        if record_remove(
            location_id=location_id,
            entity=version.entity,
            ghl_id=ghl_id,
            deleted_at=timezone.now(),
        ):
            repaired += 1
    return repaired
