import threading
from datetime import timedelta

import pytest
import responses
from django.db import connections
from django.test import override_settings
from django.utils import timezone
from responses import matchers

from integrations.ghl.client import ghl_request
from integrations.ghl.errors import GhlNotConnected, GhlReauthRequired
from integrations.ghl.oauth import connection_token_refresh
from integrations.models import Connection, SyncLog
from tests.fakeghl import FakeHighLevel
from tests.integrations.childproc import child_env, children_run
from tests.integrations.conftest import ACCESS, CLIENT_SECRET, REFRESH, connection_make

NEW = {
    "access_token": "at-new-0000000000000000",
    "refresh_token": "rt-new-000000000000000",
    "expires_in": 86399,
    "scope": "contacts.readonly contacts.write locations.readonly",
    "userType": "Location",
    "locationId": "loc-1",
    "userId": "u1",
}


def _refresh_mock(mocked, token_url, *, refresh=REFRESH, **kw):
    kw.setdefault("json", NEW)
    return mocked.add(
        responses.POST,
        token_url,
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "client_id": "app123-client",
                    "client_secret": CLIENT_SECRET,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh,
                    "user_type": "Location",
                }
            )
        ],
        **kw,
    )


@pytest.mark.django_db
def test_it_refreshes_ahead_of_expiry_within_the_margin(
    ghl_app, location, mocked, api_base, token_url
):
    connection = connection_make(app=ghl_app, location=location, expires_in=60)  # margin is 300
    _refresh_mock(mocked, token_url)
    mocked.add(
        responses.GET,
        f"{api_base}/x",
        match=[matchers.header_matcher({"Authorization": "Bearer at-new-0000000000000000"})],
        json={},
    )
    ghl_request(connection_id=connection.pk, method="GET", path="/x")
    connection.refresh_from_db()
    assert connection.access_token == NEW["access_token"]
    assert connection.refresh_token == NEW["refresh_token"]
    assert connection.scope_set == {"contacts.readonly", "contacts.write", "locations.readonly"}
    assert connection.token_expires_at > timezone.now() + timedelta(hours=23)


@pytest.mark.django_db
def test_it_does_not_refresh_a_token_outside_the_margin(connection, mocked, api_base, token_url):
    mocked.add(responses.GET, f"{api_base}/x", json={})
    ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert [c.request.url for c in mocked.calls] == [f"{api_base}/x"]


@pytest.mark.django_db
def test_it_refreshes_once_on_401(connection, mocked, api_base, token_url, sleeps):
    mocked.add(
        responses.GET,
        f"{api_base}/x",
        status=401,
        json={"message": "Invalid JWT"},
        match=[matchers.header_matcher({"Authorization": f"Bearer {ACCESS}"})],
    )
    refresh = _refresh_mock(mocked, token_url)
    mocked.add(
        responses.GET,
        f"{api_base}/x",
        json={"ok": 1},
        match=[matchers.header_matcher({"Authorization": "Bearer at-new-0000000000000000"})],
    )
    response = ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert response.data == {"ok": 1} and refresh.call_count == 1


@pytest.mark.django_db
def test_a_second_401_after_refreshing_is_not_refreshed_again(
    connection, mocked, api_base, token_url, sleeps
):
    from integrations.ghl.errors import GhlTokenExpired

    mocked.add(responses.GET, f"{api_base}/x", status=401, json={"message": "Invalid JWT"})
    refresh = _refresh_mock(mocked, token_url)
    with pytest.raises(GhlTokenExpired):
        ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert refresh.call_count == 1


@pytest.mark.django_db
def test_invalid_grant_marks_needs_reauth_and_is_not_retried(
    connection, mocked, api_base, token_url, sleeps
):
    mocked.add(responses.GET, f"{api_base}/x", status=401, json={"message": "Invalid JWT"})
    refresh = _refresh_mock(
        mocked,
        token_url,
        status=400,
        json={"error": "invalid_grant", "error_description": "Invalid grant"},
    )
    with pytest.raises(GhlReauthRequired) as caught:
        ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert caught.value.permanent is True
    assert refresh.call_count == 1
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert "Connect again" in connection.last_error
    # No further calls go out for this connection.
    before = len(mocked.calls)
    with pytest.raises(GhlNotConnected):
        ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert len(mocked.calls) == before


@pytest.mark.django_db
@override_settings(SYNC_LOG_BODY_SAMPLE=1)  # a success's bodies are kept when sampled
def test_the_token_exchange_is_logged_without_secrets(connection, mocked, token_url):
    _refresh_mock(mocked, token_url)
    connection_token_refresh(connection_id=connection.pk, force=True)
    log = SyncLog.objects.get(operation_id="get-access-token")
    text = log.path + log.request_summary + log.response_summary
    for secret in (REFRESH, CLIENT_SECRET, NEW["access_token"], NEW["refresh_token"]):
        assert secret not in text
    assert '"grant_type": "refresh_token"' in log.request_summary


# --- the race: eight workers, one expired token -------------------------------------------------


def _expired_connection(app, location, fake):
    connection = connection_make(
        app=app, location=location, access=fake.access, refresh=fake.refresh, expires_in=-5
    )
    return connection


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("expired_by", ["clock", "server_401"])
def test_eight_threads_refresh_exactly_once(ghl_app, location, expired_by):
    with (
        FakeHighLevel(access="at-old-xxxxxxxxxxxx", refresh="rt-old-xxxxxxxxxxxx") as fake,
        override_settings(SANDBOX_BASE_URL=fake.base_url),
    ):
        connection = _expired_connection(ghl_app, location, fake)
        if expired_by == "server_401":
            # Our clock says valid; HighLevel has already expired it.
            Connection.objects.filter(pk=connection.pk).update(
                token_expires_at=timezone.now() + timedelta(hours=2)
            )
            fake.access = "server-side-rotated-xxxx"
            fake.refresh = "rt-old-xxxxxxxxxxxx"
        results, barrier = [], threading.Barrier(8)

        def worker():
            try:
                barrier.wait()
                results.append(
                    ghl_request(
                        connection_id=connection.pk,
                        method="GET",
                        path="/contacts/",
                        params={"locationId": "loc-1"},
                    ).status
                )
            except Exception as exc:  # noqa: BLE001 - reported in the assertion below
                results.append(repr(exc))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert results == [200] * 8
        assert fake.refresh_calls == 1 and fake.invalid_grants == 0
        connection.refresh_from_db()
        assert connection.access_token == fake.access and connection.refresh_token == fake.refresh


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_eight_processes_refresh_exactly_once(ghl_app, location):
    with FakeHighLevel(access="at-old-xxxxxxxxxxxx", refresh="rt-old-xxxxxxxxxxxx") as fake:
        connection = _expired_connection(ghl_app, location, fake)
        results = children_run(
            count=8,
            args=["door", str(connection.pk)],
            env=child_env(SANDBOX_BASE_URL=fake.base_url),
        )
        assert [r["outcomes"] for r in results] == [[200]] * 8
        assert fake.refresh_calls == 1 and fake.invalid_grants == 0
        connection.refresh_from_db()
        assert connection.status == Connection.Status.ACTIVE
        assert connection.refresh_token == fake.refresh


@pytest.mark.django_db
def test_a_refused_private_token_marks_needs_reauth(connection, mocked, api_base, token_url):
    Connection.objects.filter(pk=connection.pk).update(
        auth_type="private", token_expires_at=None, refresh_token_encrypted=""
    )
    mocked.add(responses.GET, f"{api_base}/x", status=401, json={"message": "Invalid JWT"})
    with pytest.raises(GhlReauthRequired, match="private integration token"):
        ghl_request(connection_id=connection.pk, method="GET", path="/x")
    connection.refresh_from_db()
    assert connection.status == "needs_reauth"
    assert not any(call.request.url == token_url for call in mocked.calls)
