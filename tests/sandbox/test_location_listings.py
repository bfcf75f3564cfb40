"""The location-wide listings the plans read: realistic volumes, documented filters and paging,
and the documented gaps (task search has no modified-since and no sort)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from sandbox.state.seed import sandbox_seed
from tests.sandbox.conftest import COMPANY, LOCATION

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(world):
    return sandbox_seed(
        company_id=COMPANY,
        location_ids=[LOCATION],
        contacts=60,
        users=4,
        tasks=230,
        notes=90,
        appointments=240,
        calendars=3,
        opportunities=130,
        seed=3,
    )


def test_seed_makes_exact_volumes_of_every_entity(seeded):
    counts = seeded.counts
    assert (counts["contact"], counts["task"], counts["note"]) == (60, 230, 90)
    assert (counts["appointment"], counts["calendar"], counts["opportunity"]) == (240, 3, 130)
    assert counts["user"] == 4


def test_task_search_answers_task_objects_paged_by_skip_and_limit(api, seeded):
    seen = []
    for skip in range(0, 300, 100):
        page = api.post(f"/locations/{LOCATION}/tasks/search", {"skip": skip, "limit": 100})
        tasks = page.json()["tasks"]
        assert all(isinstance(t, dict) and t["id"] and t["contactId"] for t in tasks)
        seen += [t["id"] for t in tasks]
    assert len(seen) == 230 == len(set(seen))
    done = api.post(f"/locations/{LOCATION}/tasks/search", {"completed": True, "limit": 100})
    assert all(t["completed"] is True for t in done.json()["tasks"])


def test_calendar_events_answer_every_event_of_the_window_with_iso_times(api, seeded):
    calendars = api.get(f"/calendars/?locationId={LOCATION}").json()["calendars"]
    assert len(calendars) == 3
    now = datetime.now(UTC)
    window = {
        "locationId": LOCATION,
        "startTime": int((now - timedelta(days=40)).timestamp() * 1000),
        "endTime": int((now + timedelta(days=70)).timestamp() * 1000),
    }
    total = 0
    for calendar in calendars:
        query = urlencode({**window, "calendarId": calendar["id"]})
        events = api.get(f"/calendars/events?{query}").json()["events"]
        assert all(e["calendarId"] == calendar["id"] for e in events)
        assert all(isinstance(e["startTime"], str) and e["startTime"][:2] == "20" for e in events)
        total += len(events)
    assert total == 240  # all of them, in one answer per calendar (no paging documented)


def test_opportunity_search_pages_to_the_end(api, seeded):
    seen, query = [], {"location_id": LOCATION, "limit": 100}
    for _ in range(5):
        body = api.get(f"/opportunities/search?{urlencode(query)}").json()
        seen += [o["id"] for o in body["opportunities"]]
        meta = body["meta"]
        if not meta.get("startAfterId"):
            break
        query = {**query, "startAfterId": meta["startAfterId"], "startAfter": meta["startAfter"]}
    assert len(seen) == 130 == len(set(seen))
