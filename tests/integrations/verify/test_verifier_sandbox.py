"""The verifier against the sandbox: a location whose Rankr copy was corrupted on purpose (rows
changed and deleted behind the portal's back) is measured, then repaired through the normal path."""

import random

import pytest

from integrations.catalog.services import operation_pages
from integrations.models import Job, Verification
from integrations.sync.jobs import job_run
from integrations.sync.targets import mapping_version_find
from integrations.sync.verify import verification_run, verify_enqueue
from mappings.entities import GHL_TO_RANKR
from mappings.services import mapping_page_apply
from rankr.models import Contact, RecordChange

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def backfill_contacts(world):
    """Rankr's copy of every sandbox contact, through the normal path."""
    location, connection = world["location"], world["connection"]
    version = mapping_version_find(
        location_id=location.pk, entity="contact", direction=GHL_TO_RANKR
    )
    for page in operation_pages(
        connection_id=connection.pk,
        operation_id="POST /contacts/search",
        body={"locationId": location.location_id},
        limit=100,
    ):
        mapping_page_apply(
            mapping_version=version, location_id=location.pk, records=page.data["contacts"]
        )
    return Contact.objects.filter(location=location)


def test_the_verifier_reports_the_mismatch_rate_of_a_corrupted_copy_and_repairs_it(
    events_sandbox,
):
    world = events_sandbox
    location, connection = world["location"], world["connection"]
    contacts = backfill_contacts(world)
    total = contacts.count()
    assert total == 12
    # Behind the portal's back: two rows changed, two rows deleted.
    changed = list(contacts.order_by("pk")[:2])
    for row in changed:
        Contact.objects.filter(pk=row.pk).update(first_name="Corrupted", email="x@corrupt.io")
    deleted = list(contacts.order_by("-pk")[:2].values_list("ghl_id", flat=True))
    Contact.objects.filter(ghl_id__in=deleted).delete()
    clean = {
        r.ghl_id: (r.first_name, r.email) for r in contacts.exclude(pk__in=[c.pk for c in changed])
    }

    job = verify_enqueue(location_id=location.pk, label="corrupted")
    assert job_run(job_id=job.pk) == Job.Status.SUCCEEDED
    job.refresh_from_db()

    measured = Verification.objects.get(location=location, entity="contact", job=job)
    # A sample of 50 covers the whole location: every record compared, 4 of 12 wrong.
    assert measured.sample_size == 12
    assert (measured.mismatched, measured.missing, measured.gone) == (4, 2, 0)
    assert measured.mismatch_rate == pytest.approx(4 / 12)
    assert measured.repaired == 4
    assert {d["ghl_id"] for d in measured.details} == {*deleted, *(r.ghl_id for r in changed)}
    assert job.result["entities"]["contact"]["mismatched"] == 4

    # Repaired: the deleted rows are back, the changed rows hold HighLevel's values again ...
    assert contacts.count() == 12
    for row in changed:
        fixed = Contact.objects.get(pk=row.pk)
        assert fixed.first_name != "Corrupted" and fixed.email != "x@corrupt.io"
    assert {r.ghl_id: (r.first_name, r.email) for r in contacts if r.ghl_id in clean} == clean
    # ... through the normal path: each repair is in the record's history, naming the job.
    assert RecordChange.objects.filter(job_id=job.pk).count() == 4

    # Measured again: nothing differs.
    again = verification_run(
        location_id=location.pk,
        entity="contact",
        connection_id=connection.pk,
        sample_size=50,
        rng=random.Random(2),
    )
    assert (again.sample_size, again.mismatched, again.mismatch_rate) == (12, 0, 0.0)


def test_a_record_highlevel_deleted_but_rankr_kept_counts_as_gone_and_is_soft_deleted(
    events_sandbox,
):
    world = events_sandbox
    location, connection = world["location"], world["connection"]
    contacts = backfill_contacts(world)
    ghost = contacts.first()
    response = world["sandbox"].call("DELETE", f"/contacts/{ghost.ghl_id}")
    assert response.status_code == 200, response.text

    measured = verification_run(
        location_id=location.pk, entity="contact", connection_id=connection.pk, sample_size=50
    )
    assert (measured.gone, measured.mismatched, measured.repaired) == (1, 1, 1)
    ghost.refresh_from_db()
    assert ghost.deleted_at is not None


def test_tasks_rankr_never_received_are_found_through_their_contacts_and_repaired(
    events_sandbox,
):
    from rankr.models import Task

    world = events_sandbox
    location, connection = world["location"], world["connection"]
    contact_id = backfill_contacts(world).order_by("pk").first().ghl_id
    made = world["sandbox"].call(
        "POST",
        f"/contacts/{contact_id}/tasks",
        json={"title": "Call back", "dueDate": "2026-01-09T10:00:00Z", "completed": False},
    )
    assert made.status_code in (200, 201), made.text
    first = verification_run(
        location_id=location.pk,
        entity="task",
        connection_id=connection.pk,
        sample_size=50,
        rng=random.Random(3),
    )
    held = Task.objects.filter(location=location, deleted_at__isnull=True)
    assert first.missing >= 1 and first.repaired == first.missing == held.count()
    assert held.filter(title="Call back").exists()
    again = verification_run(
        location_id=location.pk, entity="task", connection_id=connection.pk, sample_size=50
    )
    assert again.mismatched == 0 and again.sample_size >= held.count()
