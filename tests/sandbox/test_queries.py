"""Compiled hot reads (sandbox.queries): the same rows as the ORM for every value, a token's
revocation and expiry seen at once, a query whose values the ORM rewrites run through the ORM."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.access.models import Token
from sandbox.access.services.secrets import secret_hash
from sandbox.api.handlers.paging import Window, location_page, page_rows
from sandbox.models import Resource
from sandbox.queries import rows_of
from sandbox.state.seed import sandbox_seed
from sandbox.state.store import resources_query
from tests.sandbox.conftest import COMPANY, LOCATION, OTHER_LOCATION

pytestmark = pytest.mark.django_db

FIELDS = ("pk", "kind", "expires_at", "company__company_id", "location__location_id")


def by_hash(token_hash):
    return Token.objects.filter(token_hash=token_hash).values_list(*FIELDS)


def test_a_compiled_query_answers_each_value_as_the_orm_does(world):
    for value in (world.location_token, world.company_token, world.other_location_token, "no"):
        token_hash = secret_hash(value=value)
        assert rows_of("test.by_hash", by_hash, [token_hash]) == list(by_hash(token_hash))
    Token.objects.filter(token_hash=secret_hash(value=world.company_token)).update(
        expires_at=timezone.now() + timedelta(hours=1)
    )
    (row,) = rows_of("test.by_hash", by_hash, [secret_hash(value=world.company_token)])
    assert row[2] > timezone.now()  # converted as the ORM converts it (SQLite keeps text)
    assert row[3:] == (COMPANY, None)


def test_a_value_the_orm_rewrites_is_not_bound_into_cached_sql(world):
    sandbox_seed(company_id=COMPANY, location_ids=[LOCATION], contacts=3, seed=1)
    Resource.objects.filter(kind="contact").update(email="x@example.com")

    def containing(text):
        return Resource.objects.filter(kind="contact", email__icontains=text).values_list("pk")

    assert len(rows_of("test.containing", containing, ["example"])) == 3
    assert rows_of("test.containing", containing, ["nowhere"]) == []


def test_revoked_and_expired_tokens_are_refused_on_the_next_request(api, world):
    assert api.get(f"/contacts/?locationId={LOCATION}&limit=1").status_code == 200
    token = Token.objects.get(token_hash=secret_hash(value=world.location_token))
    token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save()
    assert api.get(f"/contacts/?locationId={LOCATION}&limit=1").status_code == 401
    token.expires_at, token.revoked_at = None, timezone.now()
    token.save()
    assert api.get(f"/contacts/?locationId={LOCATION}&limit=1").status_code == 401


@pytest.mark.parametrize("after", [None, 0, 3, 10_000])
@pytest.mark.parametrize("offset", [0, 2])
def test_a_location_page_is_the_orm_page_and_count(world, after, offset):
    sandbox_seed(company_id=COMPANY, location_ids=[LOCATION], contacts=12, seed=3)
    first = resources_query(kind="contact", location_id=LOCATION).first()
    window = Window(limit=4, offset=offset, after_seq=None if after is None else first.seq + after)
    qs = resources_query(kind="contact", location_id=LOCATION)
    assert location_page(kind="contact", location_id=LOCATION, window=window) == (
        *page_rows(qs, window),
        qs.count(),
    )
    empty = location_page(kind="contact", location_id=OTHER_LOCATION, window=window)
    assert empty == ([], False, 0)
