import pytest
import responses
from django.test import override_settings

from integrations.ghl import ratelimit
from integrations.ghl.client import ghl_request
from integrations.ghl.errors import GhlRateLimited
from integrations.models import RateBucket
from tests.fakeghl import FakeHighLevel
from tests.integrations.childproc import child_env, children_run


def _max_in_window(stamps, window):
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, t in enumerate(stamps):
        while t - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.django_db
@override_settings(
    GHL_RATE_LIMIT_BURST=5, GHL_RATE_LIMIT_INTERVAL_MS=1000, GHL_RATE_LIMIT_SAFETY_MS=0
)
def test_it_waits_when_the_burst_is_spent(sleeps):
    for _ in range(5):
        ratelimit.ratelimit_acquire(key="1:loc")
    assert sleeps == []
    ratelimit.ratelimit_acquire(key="1:loc")
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 1.0


@pytest.mark.django_db
@override_settings(GHL_RATE_LIMIT_DAILY=3, GHL_RATE_LIMIT_MAX_WAIT=60)
def test_the_daily_limit_fails_as_retryable_instead_of_hanging(sleeps):
    for _ in range(3):
        ratelimit.ratelimit_acquire(key="1:loc")
    with pytest.raises(GhlRateLimited) as caught:
        ratelimit.ratelimit_acquire(key="1:loc")
    assert caught.value.permanent is False and caught.value.retry_after > 0


@pytest.mark.django_db
def test_server_headers_count_requests_we_did_not_send(connection, mocked, api_base, sleeps):
    mocked.add(
        responses.GET,
        f"{api_base}/x",
        json={},
        headers={
            "X-RateLimit-Max": "100",
            "X-RateLimit-Remaining": "40",
            "X-RateLimit-Interval-Milliseconds": "10000",
            "X-RateLimit-Daily-Remaining": "150000",
            "X-RateLimit-Limit-Daily": "200000",
        },
    )
    ghl_request(connection_id=connection.pk, method="GET", path="/x")
    bucket = RateBucket.objects.get()
    assert len(bucket.stamps) == 60  # server counted 60 in this window; we had sent 1
    assert bucket.server_limit == 100


@pytest.mark.django_db
def test_a_smaller_server_limit_is_adopted(connection, mocked, api_base, sleeps):
    mocked.add(
        responses.GET,
        f"{api_base}/x",
        json={},
        headers={"X-RateLimit-Max": "3", "X-RateLimit-Remaining": "2"},
    )
    for _ in range(4):
        ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert len(sleeps) == 1  # the fourth request waited for the 3-per-window budget


@pytest.mark.django_db
def test_a_429_blocks_the_key_until_retry_after(connection, mocked, api_base, sleeps):
    mocked.add(responses.GET, f"{api_base}/x", status=429, headers={"Retry-After": "7"})
    mocked.add(responses.GET, f"{api_base}/x", json={})
    ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert RateBucket.objects.get().blocked_until > 0
    assert any(6.5 <= s <= 7.01 for s in sleeps)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_two_processes_sharing_one_budget_never_exceed_it():
    env = child_env(
        GHL_RATE_LIMIT_BURST=10, GHL_RATE_LIMIT_INTERVAL_MS=1000, GHL_RATE_LIMIT_SAFETY_MS=50
    )
    results = children_run(count=2, args=["acquire", "7", "25"], env=env)
    sent = [t for r in results for t in r["sent"]]
    assert len(sent) == 50
    assert _max_in_window(sent, 1.0) <= 10
    # and the budget is used, not wasted: 50 sends at 10/s take about 4-5 s
    assert max(sent) - min(sent) < 6.0


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_two_processes_get_no_429_from_a_server_enforcing_the_limit(ghl_app, location):
    from tests.integrations.conftest import connection_make

    with FakeHighLevel(access="at-live-xxxxxxxxxx", refresh="rt", limit=10, window_s=1.0) as fake:
        connection = connection_make(app=ghl_app, location=location, access=fake.access)
        env = child_env(
            SANDBOX_BASE_URL=fake.base_url,
            GHL_RATE_LIMIT_BURST=10,
            GHL_RATE_LIMIT_INTERVAL_MS=1000,
            GHL_RATE_LIMIT_SAFETY_MS=50,
        )
        results = children_run(count=2, args=["door", str(connection.pk), "20"], env=env)
        assert [r["outcomes"] for r in results] == [[200] * 20] * 2
        assert fake.rejected_429 == 0
        assert _max_in_window(fake.api_arrivals, 1.0) <= 10


@pytest.mark.django_db
@override_settings(GHL_RATE_LIMIT_SAFETY_MS=250)
def test_a_slow_request_holds_its_slot_from_when_its_answer_came(sleeps):
    stamp = ratelimit.ratelimit_acquire(key="1:loc")
    ratelimit._sleep(0.1)  # a quick answer: the stamp stays
    ratelimit.ratelimit_settle(key="1:loc", stamp=stamp)
    assert RateBucket.objects.get().stamps == [stamp]
    ratelimit._sleep(2.0)  # a slow one: it may have reached the server only now
    ratelimit.ratelimit_settle(key="1:loc", stamp=stamp)
    (moved,) = RateBucket.objects.get().stamps
    assert moved == pytest.approx(stamp + 2.1, abs=0.05)


@pytest.mark.django_db
@override_settings(
    GHL_RATE_LIMIT_BURST=10,
    GHL_RATE_LIMIT_INTERVAL_MS=1000,
    GHL_RATE_LIMIT_SAFETY_MS=0,
    GHL_RATE_LIMIT_RESERVE=0.2,
)
def test_bulk_work_leaves_the_reserve_of_the_burst_to_incremental_polls(sleeps):
    with ratelimit.ratelimit_bulk():
        for _ in range(8):
            ratelimit.ratelimit_acquire(key="1:loc")
        with override_settings(GHL_RATE_LIMIT_MAX_WAIT=0.0001), pytest.raises(GhlRateLimited):
            ratelimit.ratelimit_acquire(key="1:loc")  # a ninth bulk request must wait
    for _ in range(2):  # an incremental poll still finds the reserve at once
        ratelimit.ratelimit_acquire(key="1:loc")
    assert sleeps == []
    ratelimit.ratelimit_acquire(key="1:loc")  # the window is full now, for everyone
    assert len(sleeps) == 1


@pytest.mark.django_db
@override_settings(GHL_RATE_LIMIT_DAILY=10, GHL_RATE_LIMIT_MAX_WAIT=60, GHL_RATE_LIMIT_RESERVE=0.2)
def test_bulk_work_stops_short_of_the_day_s_reserve_while_polls_go_on(sleeps):
    with ratelimit.ratelimit_bulk():
        for _ in range(8):
            ratelimit.ratelimit_acquire(key="1:loc")
        with pytest.raises(GhlRateLimited):
            ratelimit.ratelimit_acquire(key="1:loc")
    ratelimit.ratelimit_acquire(key="1:loc")
    ratelimit.ratelimit_acquire(key="1:loc")
    with pytest.raises(GhlRateLimited):
        ratelimit.ratelimit_acquire(key="1:loc")


def _headers(*, limit, remaining, daily=150_000):
    return {
        "X-RateLimit-Max": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Daily-Remaining": str(daily),
    }


@pytest.mark.django_db
def test_an_answer_that_changes_nothing_reads_no_bucket(django_assert_num_queries):
    stamp = ratelimit.ratelimit_acquire(key="1:loc")
    ratelimit.ratelimit_observe(  # the server adopted once: its limit is the bucket's now
        key="1:loc", headers=_headers(limit=100, remaining=99), status=200, retry_after=None
    )
    stamp = ratelimit.ratelimit_acquire(key="1:loc")
    with django_assert_num_queries(0):
        ratelimit.ratelimit_observe(
            key="1:loc",
            headers=_headers(limit=100, remaining=98),
            status=200,
            retry_after=None,
            stamp=stamp,
        )


@pytest.mark.django_db
def test_usage_the_take_did_not_see_is_still_counted(sleeps):
    ratelimit.ratelimit_acquire(key="1:loc")
    ratelimit.ratelimit_observe(
        key="1:loc", headers=_headers(limit=100, remaining=99), status=200, retry_after=None
    )
    stamp = ratelimit.ratelimit_acquire(key="1:loc")
    ratelimit.ratelimit_observe(  # someone else sent 40 of this key's requests meanwhile
        key="1:loc",
        headers=_headers(limit=100, remaining=58),
        status=200,
        retry_after=None,
        stamp=stamp,
    )
    assert len(RateBucket.objects.get(key="1:loc").stamps) == 42


@pytest.mark.django_db
def test_a_take_after_this_thread_s_own_is_one_statement(django_assert_num_queries):
    ratelimit.ratelimit_acquire(key="1:loc")
    with django_assert_num_queries(1):  # a compare-and-set: no lock, no read, no transaction
        ratelimit.ratelimit_acquire(key="1:loc")
    assert RateBucket.objects.get().day_count == 2


@pytest.mark.django_db
@override_settings(
    GHL_RATE_LIMIT_BURST=5, GHL_RATE_LIMIT_INTERVAL_MS=1000, GHL_RATE_LIMIT_SAFETY_MS=0
)
def test_a_take_sees_the_sends_another_process_recorded_since_this_thread_s_last(sleeps):
    first = ratelimit.ratelimit_acquire(key="1:loc")
    # another worker took the other four sends of the window meanwhile
    RateBucket.objects.update(stamps=[first, *[first + 0.001 * n for n in range(1, 5)]])
    ratelimit.ratelimit_acquire(key="1:loc")
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 1.0  # waited for the window, not sent a sixth


@pytest.mark.django_db
@override_settings(GHL_RATE_LIMIT_SAFETY_MS=250)
def test_a_slow_answer_after_another_process_s_take_keeps_that_take(sleeps):
    stamp = ratelimit.ratelimit_acquire(key="1:loc")
    other = stamp + 0.5
    RateBucket.objects.update(stamps=[stamp, other])  # another worker's send
    ratelimit._sleep(2.0)
    ratelimit.ratelimit_settle(key="1:loc", stamp=stamp)
    stamps = RateBucket.objects.get().stamps
    assert stamps[0] == other and stamps[1] == pytest.approx(stamp + 2.0, abs=0.05)
