"""Paging as HighLevel documents it: cursors with meta.nextPageUrl, skip/limit, page/pageLimit;
at most 100 per page; a stable order while contacts are being added."""

import pytest

from sandbox.state.seed import sandbox_seed
from tests.sandbox.conftest import COMPANY, LOCATION

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(world):
    sandbox_seed(company_id=COMPANY, location_ids=[LOCATION], contacts=250, seed=7)


def walk(api, url):
    seen = []
    while url:
        body = api.get(url).json()
        seen += [c["id"] for c in body["contacts"]]
        url = body["meta"]["nextPageUrl"]
        url = url.split("/sandbox/api", 1)[1] if url else None
    return seen


def test_next_page_urls_walk_every_contact_once(api, seeded):
    seen = walk(api, f"/contacts/?locationId={LOCATION}&limit=100")
    assert len(seen) == 250 == len(set(seen))


def test_new_contacts_during_a_walk_neither_repeat_nor_hide_old_ones(api, seeded):
    first = api.get(f"/contacts/?locationId={LOCATION}&limit=100").json()
    api.post("/contacts/", {"locationId": LOCATION, "email": "late@example.com"})
    rest = walk(api, first["meta"]["nextPageUrl"].split("/sandbox/api", 1)[1])
    ids = [c["id"] for c in first["contacts"]] + rest
    assert len(ids) == 251 == len(set(ids))
    assert first["meta"]["total"] == 250


def test_it_refuses_more_than_100_per_page(api, seeded):
    response = api.get(f"/contacts/?locationId={LOCATION}&limit=101")
    assert response.status_code == 422
    assert response.json()["message"] == ["limit must not be greater than 100"]
    search = api.post("/contacts/search", {"locationId": LOCATION, "pageLimit": 500})
    assert search.status_code == 400  # search documents 400, not 422
    assert search.json()["message"] == "pageLimit must not be greater than 100"


def test_default_page_is_20(api, seeded):
    assert len(api.get(f"/contacts/?locationId={LOCATION}").json()["contacts"]) == 20


def test_skip_and_limit_page_users_in_a_stable_order(api, world):
    sandbox_seed(company_id=COMPANY, location_ids=[LOCATION], contacts=0, users=5)
    everyone = [
        u["id"]
        for u in api.get(
            f"/users/search?companyId={COMPANY}&locationId={LOCATION}&limit=100"
        ).json()["users"]
    ]
    pages = [
        api.get(f"/users/search?companyId={COMPANY}&locationId={LOCATION}&skip={s}&limit=2").json()[
            "users"
        ]
        for s in (0, 2, 4)
    ]
    assert [u["id"] for page in pages for u in page] == everyone
    assert len(everyone) == 5


def test_start_after_alone_pages_by_creation_time(api, world):
    from datetime import timedelta

    from sandbox.models import Resource

    ids = [
        api.post("/contacts/", {"locationId": LOCATION, "email": f"t{n}@example.com"}).json()[
            "contact"
        ]["id"]
        for n in range(3)
    ]
    first = Resource.objects.get(resource_id=ids[0])
    Resource.objects.filter(resource_id__in=ids[1:]).update(
        created_at=first.created_at + timedelta(seconds=5)
    )
    later = api.get(f"/contacts/?locationId={LOCATION}&startAfter={first.created_ms}").json()[
        "contacts"
    ]
    assert [c["id"] for c in later] == ids[1:]


def test_a_listing_read_whole_in_one_page_answers_its_total_without_a_count_query(api, seeded):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    contact_id = api.get(f"/contacts/?locationId={LOCATION}&limit=1").json()["contacts"][0]["id"]
    for n in range(3):
        assert api.post(f"/contacts/{contact_id}/notes", {"body": f"Note {n}"}).status_code < 300
    with CaptureQueriesContext(connection) as queries:
        notes = api.get(f"/contacts/{contact_id}/notes").json()["notes"]
    assert len(notes) == 3
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    # A page with more after it still counts the whole listing.
    first = api.get(f"/contacts/?locationId={LOCATION}&limit=10").json()
    assert len(first["contacts"]) == 10 and first["meta"]["total"] == 250
