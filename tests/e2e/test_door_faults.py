"""The door against the sandbox's injected faults retries and recovers."""

import time

import pytest

from integrations.catalog.services import operation_run
from integrations.models import SyncLog
from tests.e2e.conftest import fault_set, location_connect

pytestmark = pytest.mark.slow
CALLS = 6


def _attempts(connection):
    return list(
        SyncLog.objects.filter(connection_id=connection.pk, operation_id="GET /contacts/")
        .order_by("pk")
        .values_list("status", "attempt", "error")
    )


def test_a_429_storm_with_retry_after_is_waited_out(sandbox_world):
    connection = location_connect(sandbox_world, "demo-loc-0001")
    fault_set(
        sandbox_world,
        locationId="demo-loc-0001",
        seed=1,
        stormRate=1.0,
        stormSeconds=2,
        retryAfter=1,
    )
    started = time.monotonic()
    answer = operation_run(connection_id=connection.pk, operation_id="GET /contacts/")
    elapsed = time.monotonic() - started
    assert answer.status == 200 and answer.attempts >= 2
    log = _attempts(connection)
    assert [status for status, _, _ in log[:-1]] == [429] * (len(log) - 1)
    assert log[-1][:2] == (200, len(log))
    assert elapsed >= 1.9  # Retry-After honoured: no attempt went before the storm could end


@pytest.mark.parametrize(
    "knob, seen",
    [
        ({"errorRate": 0.4, "errorStatus": 503}, "status 503"),
        ({"errorRate": 0.4, "errorStatus": 500}, "status 500"),
        ({"htmlRate": 0.4}, "an HTML page"),
        ({"dropRate": 0.4}, "a dropped connection"),
    ],
)
def test_transient_faults_are_retried_until_every_call_succeeds(sandbox_world, knob, seen):
    connection = location_connect(sandbox_world, "demo-loc-0001")
    fault_set(sandbox_world, locationId="demo-loc-0001", seed=3, **knob)
    answers = [
        operation_run(connection_id=connection.pk, operation_id="GET /contacts/")
        for _ in range(CALLS)
    ]
    assert [a.status for a in answers] == [200] * CALLS
    assert all(isinstance(a.data["contacts"], list) for a in answers)
    log = _attempts(connection)
    failed = [row for row in log if row[0] != 200]
    assert failed, f"the fault rule should have hit some requests ({seen})"
    assert len(log) == CALLS + len(failed)  # each failure cost exactly one more attempt
    assert max(attempt for _, attempt, _ in log) >= 2
    if "status" in seen:
        assert {row[0] for row in failed} == {int(seen.split()[-1])}
    elif seen == "an HTML page":
        assert {row[0] for row in failed} == {502}
    else:
        assert all(row[0] in (None, 200) and row[2] for row in failed), failed
