import threading

import pytest
import requests
from django.test import override_settings

from sandbox.access.models import RateCounter
from sandbox.access.services.ratelimit import rate_limit_hit
from tests.sandbox.access.helpers import INSTALLED, Gunicorn, bearer, tokens_for

HEADERS = (
    "X-RateLimit-Limit-Daily",
    "X-RateLimit-Daily-Remaining",
    "X-RateLimit-Interval-Milliseconds",
    "X-RateLimit-Max",
    "X-RateLimit-Remaining",
)
QUERY = {"companyId": "demo-company-0001", "appId": "rankr-app"}


def agency_token(client):
    return tokens_for(client, locations=(), agency=("demo-company-0001",))["access_token"]


@pytest.mark.usefixtures("registered")
@override_settings(SANDBOX_RATE_BURST=3, SANDBOX_RATE_INTERVAL_MS=60_000)
def test_it_answers_429_with_retry_after_once_the_burst_is_spent(client):
    token = agency_token(client)
    answers = [client.get(INSTALLED, QUERY, **bearer(token)) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0", "0"]
    for answer in answers:
        assert all(name in answer for name in HEADERS)
        assert answer["X-RateLimit-Max"] == "3"
        assert answer["X-RateLimit-Interval-Milliseconds"] == "60000"
    assert {k: v for k, v in answers[3].json().items() if k != "traceId"} == {
        "statusCode": 429,
        "message": "Too Many Requests",
        "error": "Too Many Requests",
    }
    assert 1 <= int(answers[3]["Retry-After"]) <= 60


@pytest.mark.usefixtures("registered")
@override_settings(SANDBOX_RATE_DAILY=2)
def test_the_daily_limit_is_counted_apart_from_the_burst(client):
    token = agency_token(client)
    answers = [client.get(INSTALLED, QUERY, **bearer(token)) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a["X-RateLimit-Daily-Remaining"] for a in answers] == ["1", "0", "0"]
    assert answers[0]["X-RateLimit-Limit-Daily"] == "2"


@pytest.mark.usefixtures("registered")
def test_each_app_and_location_has_its_own_counter(client):
    loc1 = tokens_for(client, locations=("demo-loc-0001",))["access_token"]
    loc2 = tokens_for(client, locations=("demo-loc-0002",))["access_token"]
    from tests.sandbox.access.test_gate import call

    for _ in range(3):
        call(loc1)
    _, result = call(loc2)
    assert result.rate.burst_remaining == 99
    assert RateCounter.objects.filter(window="burst").count() == 2


@override_settings(SANDBOX_RATE_BURST=2, SANDBOX_RATE_INTERVAL_MS=1000)
def test_a_new_window_starts_fresh_and_old_windows_are_dropped(db):
    assert rate_limit_hit(key="k", now_ms=10_000).burst_remaining == 1
    assert rate_limit_hit(key="k", now_ms=10_500).burst_remaining == 0
    assert rate_limit_hit(key="k", now_ms=10_900).exceeded
    fresh = rate_limit_hit(key="k", now_ms=11_000)
    assert fresh.burst_remaining == 1 and not fresh.exceeded
    assert fresh.daily_remaining == 200_000 - 4
    assert list(
        RateCounter.objects.filter(window="burst").values_list("window_start", flat=True)
    ) == [11_000]


@pytest.mark.slow
def test_two_processes_share_one_limit_and_count_every_request_once(transactional_db, client):
    from sandbox.access.services.registry import sandbox_app_register, sandbox_demo_company_ensure
    from tests.sandbox.access.helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT, SCOPES

    sandbox_demo_company_ensure()
    sandbox_app_register(
        name="Rankr",
        redirect_uris=[REDIRECT],
        scopes=SCOPES,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    token = agency_token(client)
    limits = {"SANDBOX_RATE_BURST": 30, "SANDBOX_RATE_INTERVAL_MS": 3_600_000}
    servers = [Gunicorn(**limits), Gunicorn(**limits)]
    try:
        for server in servers:
            server.wait_ready()
        answers = []
        lock = threading.Lock()

        def hammer(server):
            with requests.Session() as session:
                for _ in range(25):
                    r = session.get(
                        f"{server.url}{INSTALLED}",
                        params=QUERY,
                        timeout=30,
                        headers={"Authorization": f"Bearer {token}", "Version": "2021-07-28"},
                    )
                    with lock:
                        answers.append(r)

        threads = [threading.Thread(target=hammer, args=(s,)) for s in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for server in servers:
            server.stop()
    ok = [a for a in answers if a.status_code == 200]
    limited = [a for a in answers if a.status_code == 429]
    assert len(answers) == 50
    assert (len(ok), len(limited)) == (30, 20)
    # Every allowed request saw its own count: no two processes read the same value.
    assert sorted(int(a.headers["X-RateLimit-Remaining"]) for a in ok) == list(range(30))
    daily = sorted(int(a.headers["X-RateLimit-Daily-Remaining"]) for a in answers)
    assert daily == list(range(200_000 - 50, 200_000))
    assert all(all(name in a.headers for name in HEADERS) for a in answers)
    assert all(a.headers["Retry-After"] for a in limited)
