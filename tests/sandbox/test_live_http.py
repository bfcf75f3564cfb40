"""The sandbox over real HTTP (pytest-django's live_server), as the portal's client meets it."""

import pytest
import requests

from sandbox.state.seed import sandbox_seed
from tests.sandbox.conftest import COMPANY, LOCATION

pytestmark = pytest.mark.slow  # the sandbox served by gunicorn

RATE_HEADERS = (
    "X-RateLimit-Limit-Daily",
    "X-RateLimit-Daily-Remaining",
    "X-RateLimit-Interval-Milliseconds",
    "X-RateLimit-Max",
    "X-RateLimit-Remaining",
)


@pytest.fixture
def http(live_server, world):
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {world.location_token}", "Version": "2021-07-28"}
    )
    session.base = live_server.url + "/sandbox/api"
    yield session
    session.close()


@pytest.mark.django_db(transaction=True)
def test_a_client_pages_contacts_by_next_page_url_with_rate_headers(http):
    sandbox_seed(company_id=COMPANY, location_ids=[LOCATION], contacts=230, seed=2)
    url, seen = f"{http.base}/contacts/?locationId={LOCATION}&limit=100", []
    while url:
        response = http.get(url, timeout=10)
        assert response.status_code == 200
        assert all(name in response.headers for name in RATE_HEADERS)
        body = response.json()
        seen += [c["id"] for c in body["contacts"]]
        url = body["meta"]["nextPageUrl"]
    assert len(seen) == 230 == len(set(seen))


@pytest.mark.django_db(transaction=True)
def test_changes_and_refusals_over_http(http):
    created = http.post(
        f"{http.base}/contacts/",
        json={"locationId": LOCATION, "email": "h@example.com"},
        timeout=10,
    )
    assert created.status_code == 201
    contact_id = created.json()["contact"]["id"]
    assert (
        http.put(
            f"{http.base}/contacts/{contact_id}", json={"firstName": "Hal"}, timeout=10
        ).json()["contact"]["name"]
        == "Hal"
    )
    bad = http.post(
        f"{http.base}/contacts/", data="{", headers={"Content-Type": "application/json"}, timeout=10
    )
    assert bad.status_code == 400 and bad.json()["error"] == "Bad Request"
    elsewhere = http.get(f"{http.base}/contacts/?locationId=loc-test-0002", timeout=10)
    assert elsewhere.status_code == 403
