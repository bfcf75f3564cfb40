"""The door's one-statement read of a connection with its app, location and agency."""

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from integrations.ghl.reads import row_with_related
from integrations.models import Connection

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


def test_only_the_models_foreign_keys_name_what_is_joined(connection):
    with pytest.raises(FieldDoesNotExist):
        row_with_related(model=Connection, pk=connection.pk, related=("app; DROP TABLE x",))
    with pytest.raises(TypeError):
        row_with_related(model=Connection, pk=connection.pk, related=("status",))
