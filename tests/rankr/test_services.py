import threading

import pytest
from django.db import connection

from rankr.models import Contact, Task
from rankr.services import (
    RecordError,
    RecordUpsert,
    record_fingerprint,
    record_soft_delete,
    record_upsert,
    record_upsert_many,
)


def upsert(location, ghl_id="c1", fingerprint="f1", **values):
    return record_upsert(
        kind="contact",
        location_id=location.pk,
        ghl_id=ghl_id,
        values=values,
        fingerprint=fingerprint,
    )


def test_upsert_twice_leaves_one_row_with_the_latest_values(location):
    first, created = upsert(location, email="a@x.io", first_name="Ada")
    assert created
    second, created_again = upsert(location, email="a@x.io", first_name="Ada", fingerprint="f2")
    assert not created_again
    assert second.pk == first.pk
    row = Contact.objects.get()
    assert (row.first_name, row.fingerprint, row.location_id) == ("Ada", "f2", location.pk)


def test_the_same_highlevel_id_may_exist_at_two_locations(location, other_location):
    upsert(location, email="a@x.io")
    upsert(other_location, email="b@x.io")
    assert Contact.objects.filter(ghl_id="c1").count() == 2


def test_the_database_refuses_a_second_row_for_one_location_and_id(location):
    from django.db import IntegrityError, transaction

    Contact.objects.create(location=location, ghl_id="c1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(location=location, ghl_id="c1")


def test_ids_are_unique_per_kind_not_across_kinds(location):
    upsert(location, email="a@x.io")
    record_upsert(
        kind="task", location_id=location.pk, ghl_id="c1", values={"title": "Call"}, fingerprint="t"
    )
    assert Contact.objects.count() == Task.objects.count() == 1


def test_upsert_refuses_unknown_kinds_fields_and_missing_ids(location):
    with pytest.raises(RecordError, match="Unknown Rankr record kind 'lead'"):
        record_upsert(kind="lead", location_id=location.pk, ghl_id="x", values={}, fingerprint="")
    with pytest.raises(RecordError, match="contact has no field 'mail'"):
        upsert(location, mail="a@x.io")
    with pytest.raises(RecordError, match="A HighLevel id is required"):
        upsert(location, ghl_id="  ")
    with pytest.raises(RecordError, match="has no field 'fingerprint'"):
        record_upsert(
            kind="contact",
            location_id=location.pk,
            ghl_id="c",
            values={"fingerprint": "x"},
            fingerprint="f",
        )
    assert not Contact.objects.exists()


def test_soft_delete_marks_once_and_an_upsert_revives(location):
    upsert(location, email="a@x.io")
    assert record_soft_delete(kind="contact", location_id=location.pk, ghl_id="c1") is True
    assert record_soft_delete(kind="contact", location_id=location.pk, ghl_id="c1") is False
    assert record_soft_delete(kind="contact", location_id=location.pk, ghl_id="nope") is False
    row = Contact.objects.get()
    assert row.deleted_at is not None and row.fingerprint == ""
    upsert(location, email="a@x.io")
    assert Contact.objects.get().deleted_at is None


def page(*items):
    return [RecordUpsert(ghl_id=g, values=v, fingerprint=f) for g, v, f in items]


def test_bulk_upsert_creates_updates_and_skips_unchanged(location):
    counts = record_upsert_many(
        kind="contact",
        location_id=location.pk,
        items=page(
            ("c1", {"email": "a@x.io"}, "f1"),
            ("c2", {"email": "b@x.io"}, "f2"),
        ),
    )
    assert (counts.created, counts.updated, counts.unchanged) == (2, 0, 0)
    created_at = Contact.objects.get(ghl_id="c1").updated_at

    counts = record_upsert_many(
        kind="contact",
        location_id=location.pk,
        items=page(
            ("c1", {"email": "a@x.io"}, "f1"),
            ("c2", {"email": "b2@x.io"}, "f2b"),
            ("c3", {"email": "c@x.io"}, "f3"),
        ),
    )
    assert (counts.created, counts.updated, counts.unchanged) == (1, 1, 1)
    assert Contact.objects.get(ghl_id="c1").updated_at == created_at  # untouched
    assert dict(Contact.objects.values_list("ghl_id", "email")) == {
        "c1": "a@x.io",
        "c2": "b2@x.io",
        "c3": "c@x.io",
    }


def test_bulk_upsert_keeps_fields_a_page_does_not_carry(location):
    upsert(location, email="a@x.io", company="Acme", fingerprint="old")
    record_upsert_many(
        kind="contact",
        location_id=location.pk,
        items=page(
            ("c1", {"email": "new@x.io"}, "new"),
            ("c2", {"company": "Other"}, "x"),
        ),
    )
    c1 = Contact.objects.get(ghl_id="c1")
    assert (c1.email, c1.company) == ("new@x.io", "Acme")


def test_bulk_upsert_takes_the_last_of_duplicate_ids_and_revives_deleted(location):
    upsert(location, email="a@x.io")
    record_soft_delete(kind="contact", location_id=location.pk, ghl_id="c1")
    counts = record_upsert_many(
        kind="contact",
        location_id=location.pk,
        items=page(
            ("c1", {"email": "first@x.io"}, "f1"),
            ("c1", {"email": "last@x.io"}, "f1"),
        ),
    )
    assert (counts.created, counts.updated) == (0, 1)
    row = Contact.objects.get()
    assert (row.email, row.deleted_at) == ("last@x.io", None)


def test_bulk_upsert_is_all_or_nothing_when_a_record_is_bad(location):
    with pytest.raises(RecordError, match="no field 'nickname'"):
        record_upsert_many(
            kind="contact",
            location_id=location.pk,
            items=page(
                ("c1", {"email": "a@x.io"}, "f1"),
                ("c2", {"nickname": "Bo"}, "f2"),
            ),
        )
    assert not Contact.objects.exists()


def test_fingerprint_ignores_key_order_and_sees_changes():
    a = record_fingerprint(data={"id": "1", "tags": ["a"], "email": "x"})
    assert a == record_fingerprint(data={"email": "x", "id": "1", "tags": ["a"]})
    assert a != record_fingerprint(data={"email": "y", "id": "1", "tags": ["a"]})
    assert len(a) == 64


@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_one_record_leave_one_row(location):
    errors = []
    barrier = threading.Barrier(4)

    def work(n):
        try:
            barrier.wait()
            if n % 2:
                upsert(location, email=f"{n}@x.io", fingerprint=str(n))
            else:
                record_upsert_many(
                    kind="contact",
                    location_id=location.pk,
                    items=page(
                        ("c1", {"email": f"{n}@x.io"}, str(n)),
                    ),
                )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Contact.objects.filter(location=location, ghl_id="c1").count() == 1
