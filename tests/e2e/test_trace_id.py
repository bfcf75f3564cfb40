"""HighLevel returns a ``traceId`` with every response (docs/oauth/Overview.md): the sandbox does,
the portal records it on the sync-log row, and the sync-log search finds the row by it."""

import pytest
import requests

from integrations.catalog.services import operation_run
from integrations.models import SyncLog
from tests.e2e.conftest import location_connect

pytestmark = pytest.mark.slow


def test_every_answer_carries_a_trace_id_that_the_sync_log_records_and_search_finds(sandbox_world):
    world = sandbox_world
    connection = location_connect(world, "demo-loc-0001")
    answer = operation_run(
        connection_id=connection.pk,
        operation_id="GET /locations/{locationId}",
        params={"locationId": "demo-loc-0001"},
    )
    assert answer.status == 200 and answer.trace_id
    assert answer.data["traceId"] == answer.trace_id
    row = SyncLog.objects.filter(connection=connection, operation_id__contains="location").latest(
        "pk"
    )
    assert row.trace_id == answer.trace_id

    # Errors carry one too, and each request gets its own.
    services = world.url + "/sandbox/services"
    refused = requests.get(
        services + "/contacts/?locationId=demo-loc-0001",
        timeout=20,
        headers={"Version": "2021-07-28", "Authorization": "Bearer nope"},
    )
    unknown = requests.get(
        services + "/no-such-thing", timeout=20, headers={"Version": "2021-07-28"}
    )
    assert refused.status_code == 401 and unknown.status_code == 404
    ids = {refused.json()["traceId"], unknown.json()["traceId"], answer.trace_id}
    assert len(ids) == 3

    page = world.browser().get(f"/admin/integrations/synclog/?q={answer.trace_id}")
    assert page.status_code == 200
    assert answer.trace_id in page.text
    other = world.browser().get(
        "/admin/integrations/synclog/?q=00000000-0000-4000-8000-000000000000"
    )
    assert answer.trace_id not in other.text
