"""Racing refreshes and invalid_grant against the sandbox's real token endpoint."""

import threading
from datetime import timedelta

import pytest
import requests
from django.db import connection as db
from django.db import connections
from django.utils import timezone

from integrations.catalog.services import operation_run
from integrations.ghl.errors import GhlReauthRequired
from integrations.models import Connection, Job, SyncLog
from integrations.sync.jobs import job_enqueue
from tests.e2e.conftest import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, fault_set, location_connect
from tests.e2e.worker import workers_run
from tests.integrations.childproc import child_env

pytestmark = pytest.mark.slow
WORKERS = 8


def _expire(world, connection, where):
    """Make the connection's token expired: at the sandbox (the API answers 401) or as the portal
    sees it (expiry passed, so every worker wants to refresh ahead of its call)."""
    if where == "sandbox":
        fault_set(world, expireTokensNow=True)
    else:
        Connection.objects.filter(pk=connection.pk).update(
            token_expires_at=timezone.now() - timedelta(seconds=1)
        )


def _refresh_calls(connection) -> int:
    return SyncLog.objects.filter(
        connection_id=connection.pk, operation_id="get-access-token"
    ).count()


def _sandbox_refreshes() -> int:
    from sandbox.access.models import Token

    return Token.objects.filter(kind=Token.REFRESH, used_at__isnull=False).count()


@pytest.mark.parametrize("where", ["sandbox", "portal"])
def test_eight_threads_on_an_expired_token_refresh_once_and_all_succeed(sandbox_world, where):
    connection = location_connect(sandbox_world, "demo-loc-0001")
    old_token = connection.access_token
    _expire(sandbox_world, connection, where)
    barrier, outcomes = threading.Barrier(WORKERS), []

    def work():
        try:
            barrier.wait(timeout=30)
            answer = operation_run(connection_id=connection.pk, operation_id="GET /contacts/")
            outcomes.append(answer.status)
        except Exception as exc:  # noqa: BLE001 (recorded: the assertion shows what went wrong)
            outcomes.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()  # each thread had its own database connection

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes == [200] * WORKERS
    assert _refresh_calls(connection) == 1
    assert _sandbox_refreshes() == 1
    connection.refresh_from_db()
    assert connection.access_token != old_token and connection.status == Connection.Status.ACTIVE


@pytest.mark.parametrize("where", ["sandbox", "portal"])
def test_eight_processes_on_an_expired_token_refresh_once_and_all_succeed(sandbox_world, where):
    connection = location_connect(sandbox_world, "demo-loc-0001")
    _expire(sandbox_world, connection, where)
    env = child_env(SANDBOX_BASE_URL=sandbox_world.url + "/sandbox")
    outcomes = workers_run(count=WORKERS, connection_id=connection.pk, env=env)
    assert outcomes == [200] * WORKERS
    assert _refresh_calls(connection) == 1
    assert _sandbox_refreshes() == 1


def _burn_refresh_token(world, connection):
    """Someone else used the single-use refresh token (a copy of the database, an old worker)."""
    answer = requests.post(
        f"{world.url}/sandbox/oauth/token",
        timeout=20,
        data={
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": connection.refresh_token,
        },
    )
    assert answer.status_code == 200


@pytest.mark.parametrize("cause", ["refuse-refresh fault", "burnt refresh token"])
def test_invalid_grant_needs_reauth_and_stops_the_connections_queued_jobs(sandbox_world, cause):
    world = sandbox_world
    connection = location_connect(world, "demo-loc-0001")
    other = location_connect(world, "demo-loc-0002")
    queued = [
        job_enqueue(
            kind=Job.Kind.POLL,
            idempotency_key=f"e2e-poll-{n}",
            connection_id=connection.pk,
            location_id=connection.location_id,
            operation="GET /contacts/",
        )
        for n in range(3)
    ]
    bystander = job_enqueue(
        kind=Job.Kind.POLL,
        idempotency_key="e2e-poll-other",
        connection_id=other.pk,
        location_id=other.location_id,
    )
    if cause == "burnt refresh token":
        _burn_refresh_token(world, connection)
    else:
        fault_set(world, locationId="demo-loc-0001", refuseRefresh=True)
    fault_set(world, expireTokensNow=True)

    with pytest.raises(GhlReauthRequired, match="invalid_grant"):
        operation_run(connection_id=connection.pk, operation_id="GET /contacts/")
    assert _refresh_calls(connection) == 1  # refused once, never retried
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert "Connect again" in connection.last_error

    for job in Job.objects.filter(pk__in=[j.pk for j in queued]):
        assert job.status == Job.Status.FAILED
        assert "needs re-auth" in job.error_message and str(connection) in job.error_message
        assert job.finished_at is not None
    assert Job.objects.get(pk=bystander.pk).status == Job.Status.QUEUED

    late = job_enqueue(
        kind=Job.Kind.ACTION,
        idempotency_key="e2e-late",
        connection_id=connection.pk,
        location_id=connection.location_id,
        operation="POST /contacts/",
    )
    assert late.status == Job.Status.FAILED and "needs re-auth" in late.error_message
    # Nothing more is sent for it until someone connects again.
    sent = SyncLog.objects.filter(connection_id=connection.pk).count()
    with pytest.raises(Exception, match="Connect it again"):
        operation_run(connection_id=connection.pk, operation_id="GET /contacts/")
    assert SyncLog.objects.filter(connection_id=connection.pk).count() == sent
    assert db.vendor in ("sqlite", "postgresql")
