"""Newest wins by HighLevel's clock, decided under the row lock; deletions leave tombstones."""

from datetime import UTC, datetime, timedelta

import pytest

from rankr.models import Contact
from rankr.services import RecordUpsert, record_soft_delete, record_upsert_many

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def put(location, name, *, at, tiebreak="a", ghl_id="c1"):
    item = RecordUpsert(
        ghl_id=ghl_id,
        values={"first_name": name},
        fingerprint=name,
        changed_at=at,
        tiebreak=tiebreak,
    )
    return record_upsert_many(kind="contact", location_id=location.pk, items=[item])


def test_an_older_version_arriving_later_is_not_applied(location):
    put(location, "V2", at=T0 + timedelta(seconds=2))
    counts = put(location, "V1", at=T0 + timedelta(seconds=1))
    assert counts.stale == 1 and Contact.objects.get().first_name == "V2"
    assert put(location, "V3", at=T0 + timedelta(seconds=3)).updated == 1
    assert Contact.objects.get().first_name == "V3"


def test_two_versions_with_the_same_time_end_the_same_whatever_the_order(location, agency):
    from portal.models import Location

    other = Location.objects.create(agency=agency, location_id="loc-2", name="Other")
    put(location, "A", at=T0, tiebreak="aaa")
    put(location, "B", at=T0, tiebreak="bbb")
    put(other, "B", at=T0, tiebreak="bbb")
    put(other, "A", at=T0, tiebreak="aaa")
    assert Contact.objects.get(location=location).first_name == "B"
    assert Contact.objects.get(location=other).first_name == "B"


def test_a_delete_leaves_a_tombstone_that_an_older_update_does_not_revive(location):
    put(location, "V1", at=T0)
    assert (
        record_soft_delete(
            kind="contact",
            location_id=location.pk,
            ghl_id="c1",
            changed_at=T0 + timedelta(seconds=5),
        )
        is True
    )
    assert put(location, "V2", at=T0 + timedelta(seconds=4)).stale == 1
    row = Contact.objects.get()
    assert row.deleted_at is not None and row.first_name == "V1"
    put(location, "Back", at=T0 + timedelta(seconds=6))  # restored in HighLevel after the delete
    assert Contact.objects.get().deleted_at is None


def test_a_delete_that_arrives_before_the_create_still_wins(location):
    assert (
        record_soft_delete(
            kind="contact",
            location_id=location.pk,
            ghl_id="c9",
            changed_at=T0 + timedelta(seconds=9),
        )
        is False
    )
    assert put(location, "Late create", at=T0, ghl_id="c9").stale == 1
    assert Contact.objects.get(ghl_id="c9").deleted_at is not None


def test_a_delete_older_than_the_version_held_is_ignored(location):
    put(location, "Restored", at=T0 + timedelta(seconds=10))
    assert (
        record_soft_delete(kind="contact", location_id=location.pk, ghl_id="c1", changed_at=T0)
        is False
    )
    assert Contact.objects.get().deleted_at is None
