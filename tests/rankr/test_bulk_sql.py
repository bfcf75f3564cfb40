"""The page upsert's own SQL (portal.bulk): names from model metadata only, never from a mapping;
the same rows and fingerprints as before; an unchanged page writes nothing."""

import json
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, transaction

from mappings.models import Mapping, MappingVersion, SourcePayload
from mappings.services import mapping_page_apply, mapping_template_apply
from portal.bulk import BulkError, JsonText, rows_insert, rows_insert_tuples, rows_select
from rankr.models import Contact, RecordChange
from rankr.services import (
    RecordError,
    RecordUpsert,
    record_fingerprint,
    record_fingerprints,
    record_upsert_many,
)

HOSTILE = 'email" = 1; DROP TABLE "rankr_contact"; --'


@contextmanager
def statements():
    """Every SQL text sent (without its parameters, which never become SQL)."""
    sent = []

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield sent


def item(ghl_id="c1", fingerprint="f1", **values):
    return RecordUpsert(ghl_id=ghl_id, values=values, fingerprint=fingerprint)


def test_a_hostile_value_key_is_refused_before_any_sql(location):
    with statements() as sent, pytest.raises(RecordError, match="has no field"):
        record_upsert_many(kind="contact", location_id=location.pk, items=[item(**{HOSTILE: "x"})])
    assert not any("DROP" in sql for sql in sent)
    with statements() as sent, pytest.raises(BulkError, match="no concrete field"):
        rows_insert(model=Contact, rows=[{"location_id": location.pk, HOSTILE: "x"}])
    assert sent == []
    with statements() as sent, pytest.raises(BulkError, match="no concrete field"):
        rows_insert_tuples(
            model=Contact, columns=("location_id", HOSTILE), rows=[(location.pk, "x")]
        )
    assert sent == []
    assert Contact.objects.count() == 0  # the table is still there


def test_a_hostile_mapping_target_never_reaches_the_sql(location):
    """A version whose target was written straight into the database (mapping_save refuses it):
    applying it fails on the field, and no statement sent carries the target's text."""
    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )
    version = MappingVersion.objects.create(
        mapping=mapping,
        number=2,
        entity="contact",
        direction=mapping.direction,
        null_policy=mapping.null_policy,
        rules=[{"source": "email", "target": HOSTILE}],
    )
    record = {"id": "c1", "email": "a@x.io"}
    with statements() as sent, pytest.raises(FieldDoesNotExist):
        mapping_page_apply(mapping_version=version, location_id=location.pk, records=[record])
    assert not any(HOSTILE in sql or "DROP" in sql for sql in sent)
    assert Contact.objects.count() == 0
    assert Mapping.objects.filter(pk=mapping.pk).exists()


def test_the_upsert_sql_names_only_the_models_quoted_columns(location):
    with statements() as sent:
        record_upsert_many(
            kind="contact",
            location_id=location.pk,
            items=[item(email="a@x.io", first_name="Ada"), item("c2", email="b@x.io")],
        )
    inserts = [sql for sql in sent if sql.startswith("INSERT INTO")]
    quote = connection.ops.quote_name
    contact = next(sql for sql in inserts if quote(Contact._meta.db_table) in sql)
    for field in Contact._meta.concrete_fields:
        if not field.primary_key:
            assert quote(field.column) in contact
    assert "a@x.io" not in contact  # values travel as parameters
    assert Contact.objects.count() == 2


def test_inserted_rows_get_the_fields_defaults_as_bulk_create_gives_them(location):
    record_upsert_many(kind="contact", location_id=location.pk, items=[item(email="a@x.io")])
    row = Contact.objects.get()
    assert (row.email, row.tags, row.custom_1, row.phone, row.fingerprint) == (
        "a@x.io",
        [],
        "",
        "",
        "f1",
    )
    assert row.created_at is not None and row.updated_at is not None and row.deleted_at is None
    change = RecordChange.objects.get()
    assert (change.action, change.changes) == ("created", {"email": [None, "a@x.io"]})


def test_an_unchanged_page_writes_no_row(location):
    stamp = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    page = [
        RecordUpsert(
            ghl_id=f"c{n}",
            values={"email": f"{n}@x.io"},
            fingerprint=f"f{n}",
            changed_at=stamp,
            tiebreak="t",
        )
        for n in range(5)
    ]
    record_upsert_many(kind="contact", location_id=location.pk, items=page)
    with statements() as sent:
        counts = record_upsert_many(kind="contact", location_id=location.pk, items=page)
    assert counts.unchanged == 5 and counts.created == counts.updated == 0
    assert not [sql for sql in sent if sql.lstrip().upper().startswith(("UPDATE", "INSERT"))]
    assert RecordChange.objects.count() == 5  # the creations only


def test_one_canonical_text_gives_both_fingerprints():
    record = {"id": "c1", "b": [1, {"é": "ü", "a": None}], "a": 1.5, "when": "2026-01-01T00:00:00Z"}
    assert record_fingerprints(record=record, version_id=17) == (
        record_fingerprint(data={"v": 17, "record": record}),
        record_fingerprint(data=record),
    )


def test_payloads_are_upserted_in_place(location):
    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )
    version = mapping.versions.get()
    for email in ("a@x.io", "b@x.io"):
        mapping_page_apply(
            mapping_version=version,
            location_id=location.pk,
            records=[{"id": "c1", "email": email}],
        )
    payload = SourcePayload.objects.get()
    # stored as the canonical text its fingerprint hashed (keys sorted, as jsonb orders its own)
    assert json.dumps(payload.payload, sort_keys=True) == json.dumps(
        {"id": "c1", "email": "b@x.io"}, sort_keys=True
    )
    assert payload.fingerprint == record_fingerprint(data={"id": "c1", "email": "b@x.io"})
    assert Contact.objects.get().email == "b@x.io"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's query plan")
@pytest.mark.parametrize("lock", [True, False])
def test_on_postgresql_the_page_read_probes_each_id_though_the_location_is_not_analysed(
    location, lock
):
    """Given "ghl_id IN (...)" on a location its statistics did not count yet (a new table or
    location: a first backfill), PostgreSQL read every row of the location and filtered them,
    for each page (the payloads' and records' reads took 60 ms per 1,000 records at 10,000)."""
    rows_insert(
        model=SourcePayload,
        rows=[
            {
                "location_id": location.pk,
                "entity": "contact",
                "ghl_id": f"c{n}",
                "payload": {"id": f"c{n}"},
                "fingerprint": "f",
            }
            for n in range(3000)
        ],
    )
    reads = []

    def record(execute, sql, params, many, context):
        if sql.startswith("SELECT"):
            reads.append((sql, params))
        return execute(sql, params, many, context)

    wanted = [f"c{n}" for n in range(100, 200)]
    with transaction.atomic(), connection.execute_wrapper(record):
        found = rows_select(
            model=SourcePayload,
            fields=("ghl_id", "fingerprint"),
            where={"location_id": location.pk, "entity": "contact"},
            among=("ghl_id", [*wanted, "c100", "unknown"]),
            order_by=("ghl_id",),
            lock=lock,
        )
    assert found == [(g, "f") for g in sorted(wanted)]
    [(sql, params)] = reads
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        [[plan]] = cursor.fetchall()

    def nodes(node):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    scans = [
        n for n in nodes(plan[0]["Plan"]) if n.get("Relation Name") == "mappings_sourcepayload"
    ]
    assert scans and all("ghl_id" in n.get("Index Cond", "") for n in scans), plan
    # (rows per loop are an average, rounded): about the ids asked for, not the 3,000
    assert sum(n["Actual Rows"] * n["Actual Loops"] for n in scans) <= len(wanted) + 5, plan


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plan")
def test_the_page_read_seeks_its_ids_not_every_row_of_the_location(location):
    """Ordered by pk, SQLite chose the location index and read all the location's rows for each
    page (a backfill's pages grew slower as it went)."""
    reads = []

    def record(execute, sql, params, many, context):
        if sql.startswith("SELECT") and "IN (" in sql:
            reads.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        record_upsert_many(kind="contact", location_id=location.pk, items=[item(), item("c2")])
    sql, params = reads[0]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "(location_id=? AND ghl_id=?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_a_page_rankr_already_holds_is_counted_unchanged_without_mapping_it(location, monkeypatch):
    import mappings.services as services

    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )
    version = mapping.versions.get()
    page = [
        {"id": f"c{n}", "email": f"P{n}@X.io", "dateUpdated": "2026-01-02T03:04:05.000Z"}
        for n in range(4)
    ]
    mapping_page_apply(mapping_version=version, location_id=location.pk, records=page)
    mapped = []
    real = services.mapping_apply
    monkeypatch.setattr(
        services, "mapping_apply", lambda **kw: mapped.append(kw["record"]["id"]) or real(**kw)
    )
    changed = [*page[:3], {**page[3], "email": "new@x.io", "dateUpdated": "2026-01-03T00:00:00Z"}]
    result = mapping_page_apply(mapping_version=version, location_id=location.pk, records=changed)
    assert mapped == ["c3"]
    assert (result.counts.unchanged, result.counts.updated, result.counts.created) == (3, 1, 0)
    assert Contact.objects.get(ghl_id="c3").email == "new@x.io"
    assert Contact.objects.get(ghl_id="c0").email == "p0@x.io"
    # a version Rankr holds under an older mapping version is mapped again
    version = MappingVersion.objects.create(
        mapping=mapping,
        number=2,
        entity=version.entity,
        direction=version.direction,
        null_policy=version.null_policy,
        rules=version.rules,
    )
    mapped.clear()
    result = mapping_page_apply(mapping_version=version, location_id=location.pk, records=changed)
    assert sorted(mapped) == ["c0", "c1", "c2", "c3"] and result.counts.updated == 4


def test_a_page_of_rows_is_inserted_and_upserted_whole_and_counted(location):
    """A page big enough for PostgreSQL's COPY path, twice in one transaction: every row
    written, conflicts skipped or updated as asked, and the count is what the database wrote."""
    rows = [
        {"location_id": location.pk, "ghl_id": f"c{n}", "email": f"{n}@x.io"} for n in range(30)
    ]
    assert rows_insert(model=Contact, rows=rows[:25], ignore_conflicts=True) == 25
    assert rows_insert(model=Contact, rows=rows, ignore_conflicts=True) == 5
    assert Contact.objects.count() == 30
    payloads = [
        {
            "location_id": location.pk,
            "entity": "contact",
            "ghl_id": f"c{n}",
            "payload": JsonText(json.dumps({"id": f"c{n}", "n": n})),
            "fingerprint": "a",
        }
        for n in range(30)
    ]
    upsert = dict(conflict=("location", "entity", "ghl_id"), update=("payload", "fingerprint"))
    assert rows_insert(model=SourcePayload, rows=payloads, **upsert) == 30
    again = [
        {**row, "payload": {"id": row["ghl_id"], "n": -1}, "fingerprint": "b"} for row in payloads
    ]
    assert rows_insert(model=SourcePayload, rows=again, **upsert) == 30
    stored = {p.ghl_id: (p.payload, p.fingerprint) for p in SourcePayload.objects.all()}
    assert len(stored) == 30 and stored["c7"] == ({"id": "c7", "n": -1}, "b")


def test_a_hostile_field_name_never_reaches_a_read(location):
    with statements() as sent, pytest.raises(BulkError, match="no concrete field"):
        rows_select(model=Contact, fields=["ghl_id"], where={HOSTILE: 1})
    with statements() as sent, pytest.raises(BulkError, match="no concrete field"):
        rows_select(model=Contact, fields=[HOSTILE], where={"location_id": location.pk})
    with statements() as sent, pytest.raises(BulkError, match="no concrete field"):
        rows_select(model=Contact, fields=["ghl_id"], where={}, among=(HOSTILE, ["x"]))
    assert sent == []


def test_rows_given_as_tuples_are_stored_as_the_same_rows_given_as_dicts(location):
    """The tuple form: each column by name (location or location_id), the left-out fields'
    defaults, JSON as data or as text already encoded, aware times; the same stored rows."""
    stamp = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    given = {"ghl_id": "c1", "email": "a@x.io", "tags": ["a", "é"], "source_changed_at": stamp}
    rows_insert(model=Contact, rows=[{"location_id": location.pk, **given}])
    columns = ("location", "ghl_id", "email", "tags", "source_changed_at")
    assert (
        rows_insert_tuples(
            model=Contact,
            columns=columns,
            rows=[
                (location.pk, "c2", "a@x.io", ["a", "é"], stamp),
                (location.pk, "c3", "a@x.io", JsonText(json.dumps(["a", "é"])), stamp),
            ],
        )
        == 2
    )
    fields = [f.attname for f in Contact._meta.concrete_fields]
    fields = [f for f in fields if f not in ("id", "ghl_id", "created_at", "updated_at")]
    one, two, three = (
        Contact.objects.filter(ghl_id=g).values(*fields).get() for g in ("c1", "c2", "c3")
    )
    assert one == two == three
    assert one["tags"] == ["a", "é"] and one["source_changed_at"] == stamp
    assert one["custom_1"] == "" and one["deleted_at"] is None


def test_a_tuple_row_of_the_wrong_width_or_a_column_given_twice_is_refused(location):
    with statements() as sent:
        with pytest.raises(BulkError, match="one value per column"):
            rows_insert_tuples(model=Contact, columns=("location_id", "ghl_id"), rows=[(1,)])
        with pytest.raises(BulkError, match="given twice"):
            rows_insert_tuples(
                model=Contact, columns=("location", "location_id"), rows=[(location.pk, 1)]
            )
    assert sent == []
