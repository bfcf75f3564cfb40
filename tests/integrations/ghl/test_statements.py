"""The door's per-request SQL, built once: the connection read, the bucket's locked read and
write, the sync-log insert."""

import datetime as dt

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from integrations.ghl.statements import row_get, row_insert, row_update, row_with_related
from integrations.models import Connection, RateBucket, SyncLog

pytestmark = pytest.mark.django_db

RELATED = ("app", "location", "agency")


def _values(instance):
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_it_reads_what_select_related_reads_in_one_statement(connection):
    expected = Connection.objects.select_related(*RELATED).get(pk=connection.pk)
    with CaptureQueriesContext(db) as queries:
        found = row_with_related(model=Connection, pk=connection.pk, related=RELATED)
        assert _values(found) == _values(expected)
        for name in RELATED:
            assert _values(getattr(found, name)) == _values(getattr(expected, name))
        assert found.access_token == expected.access_token  # decrypts from the same ciphertext
        assert found.app.api_base_url == expected.app.api_base_url
        assert found.token_expires_at.tzinfo is not None  # converted as the ORM converts it
    assert len(queries) == 1
    assert not found._state.adding and found._state.db == "default"


def test_a_missing_nullable_relation_is_none_and_a_missing_row_raises(connection):
    Connection.objects.filter(pk=connection.pk).update(location=None)
    found = row_with_related(model=Connection, pk=connection.pk, related=RELATED)
    assert found.location is None and found.app.pk == connection.app_id
    with pytest.raises(Connection.DoesNotExist):
        row_with_related(model=Connection, pk=connection.pk + 1000, related=RELATED)


def test_the_bucket_is_read_by_its_key_written_and_read_back_as_the_orm_does():
    RateBucket.objects.create(key="1:loc", stamps=[1.5, 2.5], day=dt.date(2026, 1, 2))
    with CaptureQueriesContext(db) as queries:
        bucket = row_get(model=RateBucket, by="key", value="1:loc", lock=True)
        row_update(
            model=RateBucket,
            pk=bucket.pk,
            values={"stamps": [*bucket.stamps, 3.5], "day": dt.date(2026, 1, 3), "day_count": 7},
        )
    assert len(queries) == 2
    assert (bucket.stamps, bucket.day) == ([1.5, 2.5], dt.date(2026, 1, 2))
    stored = RateBucket.objects.get(key="1:loc")
    assert (stored.stamps, stored.day, stored.day_count) == (
        [1.5, 2.5, 3.5],
        dt.date(2026, 1, 3),
        7,
    )
    assert row_get(model=RateBucket, by="key", value="nobody") is None


def test_a_sync_log_row_is_inserted_with_its_time_and_the_databases_defaults(connection):
    values = {
        "connection_id": connection.pk,
        "location_id": connection.location_id,
        "operation_id": "GET /x",
        "method": "GET",
        "path": "/x",
        "status": 200,
        "error": "",
        "duration_ms": 3,
        "attempt": 1,
        "trace_id": "t-1",
        "job_id": None,
        "job_attempt_id": None,
        "request_bytes": 0,
        "response_bytes": 12,
        "request_summary": "",
        "response_summary": "",
    }
    row_insert(model=SyncLog, values=values)  # record_ids left to its db_default
    row = SyncLog.objects.get()
    assert {name: getattr(row, name) for name in values} == values
    assert row.record_ids == "" and row.at.tzinfo is not None
    with pytest.raises(ValueError, match="needs method"):
        row_insert(model=SyncLog, values={k: v for k, v in values.items() if k != "method"})


def test_only_the_models_own_fields_and_foreign_keys_reach_the_sql(connection):
    hostile = 'path" = 1; DROP TABLE integrations_synclog; --'
    with pytest.raises(FieldDoesNotExist):
        row_with_related(model=Connection, pk=connection.pk, related=(hostile,))
    with pytest.raises(TypeError):
        row_with_related(model=Connection, pk=connection.pk, related=("status",))
    with pytest.raises(ValueError, match="no concrete field"):
        row_get(model=RateBucket, by=hostile, value="x")
    with pytest.raises(ValueError, match="no concrete field"):
        row_update(model=RateBucket, pk=1, values={hostile: 1})
    with pytest.raises(ValueError, match="no concrete field"):
        row_insert(model=SyncLog, values={hostile: 1})
    assert SyncLog.objects.count() == 0  # the table is still there
