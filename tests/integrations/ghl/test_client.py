import pytest
import requests
import responses
from django.test import override_settings
from responses import matchers

from integrations.ghl.client import backoff_delay, ghl_request
from integrations.ghl.errors import (
    GhlBadResponse,
    GhlInvalid,
    GhlNetworkError,
    GhlNotConnected,
    GhlNotFound,
    GhlRateLimited,
    GhlScopeError,
    GhlServerError,
)
from integrations.models import Connection, HighLevelApp, SyncLog
from tests.integrations.conftest import ACCESS

pytestmark = pytest.mark.django_db


def _get(mocked, url, *statuses, **kw):
    for status in statuses:
        mocked.add(responses.GET, url, status=status, **kw)


@override_settings(SYNC_LOG_BODY_SAMPLE=0)
def test_it_sends_auth_version_and_json_body_to_the_sandbox_base(connection, mocked, api_base):
    mocked.add(
        responses.POST,
        f"{api_base}/contacts/",
        match=[
            matchers.header_matcher(
                {
                    "Authorization": f"Bearer {ACCESS}",
                    "Version": "2021-04-15",
                    "Accept": "application/json",
                }
            ),
            matchers.json_params_matcher({"firstName": "Ada", "locationId": "loc-1"}),
        ],
        json={"contact": {"id": "c1"}},
        status=201,
        headers={"X-Trace-Id": "trace-abc"},
    )
    response = ghl_request(
        connection_id=connection.pk,
        method="POST",
        path="/contacts/",
        operation_id="create-contact",
        version="2021-04-15",
        json={"firstName": "Ada", "locationId": "loc-1"},
        job_id=77,
    )
    assert (response.status, response.data, response.trace_id, response.attempts) == (
        201,
        {"contact": {"id": "c1"}},
        "trace-abc",
        1,
    )
    log = SyncLog.objects.get()
    assert (
        log.connection_id,
        log.location_id,
        log.operation_id,
        log.method,
        log.path,
        log.status,
        log.attempt,
        log.trace_id,
        log.job_id,
    ) == (
        connection.pk,
        connection.location_id,
        "create-contact",
        "POST",
        "/contacts/",
        201,
        1,
        "trace-abc",
        77,
    )
    # A success not sampled keeps its sizes, not its bodies.
    sent = b'{"firstName": "Ada", "locationId": "loc-1"}'
    assert (log.request_bytes, log.response_bytes) == (len(sent), len(b'{"contact": {"id": "c1"}}'))
    assert (log.request_summary, log.response_summary) == ("", "")
    connection.refresh_from_db()
    assert connection.last_success_at is not None


def test_it_uses_the_live_base_url_for_live_apps(connection, mocked):
    connection.app.mode = HighLevelApp.Mode.LIVE
    connection.app.save()
    mocked.add(
        responses.GET,
        "https://services.leadconnectorhq.com/locations/loc-1",
        match=[matchers.query_param_matcher({"a": "1"})],
        json={"location": {}},
    )
    assert (
        ghl_request(
            connection_id=connection.pk, method="GET", path="/locations/loc-1", params={"a": "1"}
        ).status
        == 200
    )


def test_it_backs_off_on_429_honouring_retry_after(connection, mocked, api_base, sleeps):
    url = f"{api_base}/contacts/c1"
    _get(mocked, url, 429, 429, headers={"Retry-After": "3"}, json={"message": "Too many"})
    _get(mocked, url, 200, json={"contact": {}})
    response = ghl_request(connection_id=connection.pk, method="GET", path="/contacts/c1")
    assert response.attempts == 3
    backoff = [s for s in sleeps if s >= 3]
    assert len(backoff) >= 2  # each retry waited at least Retry-After (the limiter may wait too)
    assert list(SyncLog.objects.order_by("id").values_list("attempt", "status")) == [
        (1, 429),
        (2, 429),
        (3, 200),
    ]


@override_settings(GHL_BACKOFF_BASE=1.0, GHL_BACKOFF_CAP=4.0, GHL_MAX_ATTEMPTS=4)
def test_it_backs_off_with_full_jitter_on_429_without_retry_after(
    connection, mocked, api_base, sleeps, monkeypatch
):
    from integrations.ghl import client

    backoffs = []
    monkeypatch.setattr(client, "_sleep", backoffs.append)
    _get(mocked, f"{api_base}/x", 429, 429, 429, 429)
    with pytest.raises(GhlRateLimited) as caught:
        ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert caught.value.permanent is False and caught.value.status == 429
    assert len(backoffs) == 3
    for attempt, delay in enumerate(backoffs, start=1):
        assert 0 <= delay <= min(4.0, 2 ** (attempt - 1))
    assert SyncLog.objects.count() == 4


def test_full_jitter_spreads_delays_up_to_the_exponential_ceiling():
    with override_settings(GHL_BACKOFF_BASE=0.5, GHL_BACKOFF_CAP=30):
        delays = [backoff_delay(attempt=4, retry_after=None) for _ in range(400)]
    assert max(delays) <= 4.0 and min(delays) >= 0
    assert max(delays) > 3.0 and min(delays) < 1.0  # spread over the range, not fixed


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_it_retries_5xx_then_succeeds(connection, mocked, api_base, sleeps, status):
    _get(mocked, f"{api_base}/x", status, 200, json={"ok": True})
    assert ghl_request(connection_id=connection.pk, method="GET", path="/x").attempts == 2


@override_settings(GHL_MAX_ATTEMPTS=3)
def test_it_gives_up_after_the_bounded_attempts_on_5xx(connection, mocked, api_base, sleeps):
    _get(mocked, f"{api_base}/x", 503, 503, 503, 503, json={"message": "down"})
    with pytest.raises(GhlServerError) as caught:
        ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert SyncLog.objects.count() == 3
    connection.refresh_from_db()
    assert "down" in connection.last_error and caught.value.status == 503


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectionError("Connection reset by peer"),
        requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"),
    ],
)
def test_it_retries_timeouts_and_resets(connection, mocked, api_base, sleeps, failure):
    mocked.add(responses.GET, f"{api_base}/x", body=failure)
    mocked.add(responses.GET, f"{api_base}/x", json={"ok": True})
    response = ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert response.attempts == 2
    first = SyncLog.objects.order_by("id").first()
    assert first.status is None and first.error


@override_settings(GHL_MAX_ATTEMPTS=2)
def test_a_timeout_that_persists_raises_a_network_error(connection, mocked, api_base, sleeps):
    mocked.add(responses.GET, f"{api_base}/x", body=requests.exceptions.ReadTimeout())
    with pytest.raises(GhlNetworkError):
        ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert SyncLog.objects.count() == 2


@pytest.mark.parametrize(
    "status,body,content_type",
    [
        (502, "<html><body>Bad gateway</body></html>", "text/html"),
        (200, "<!DOCTYPE html><html>Cloudflare</html>", "text/html"),
        (200, '{"contacts": [{"id": "c1"', "application/json"),
    ],
)
def test_it_retries_html_pages_and_truncated_json(
    connection, mocked, api_base, sleeps, status, body, content_type
):
    mocked.add(responses.GET, f"{api_base}/x", status=status, body=body, content_type=content_type)
    mocked.add(responses.GET, f"{api_base}/x", json={"ok": True})
    response = ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert response.data == {"ok": True} and response.attempts == 2


@override_settings(GHL_MAX_ATTEMPTS=2)
def test_html_forever_raises_bad_response(connection, mocked, api_base, sleeps):
    mocked.add(
        responses.GET, f"{api_base}/x", status=200, body="<html></html>", content_type="text/html"
    )
    with pytest.raises(GhlBadResponse) as caught:
        ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert "HTML" in str(caught.value)


@pytest.mark.parametrize(
    "status,error", [(404, GhlNotFound), (422, GhlInvalid), (400, GhlInvalid), (403, GhlScopeError)]
)
def test_permanent_errors_are_not_retried(connection, mocked, api_base, sleeps, status, error):
    mocked.add(
        responses.GET,
        f"{api_base}/x",
        status=status,
        json={"statusCode": status, "message": ["locationId must be a string"]},
        headers={"X-Trace-Id": "t-1"},
    )
    with pytest.raises(error) as caught:
        ghl_request(connection_id=connection.pk, method="GET", path="/x", operation_id="op")
    assert caught.value.permanent is True
    assert (caught.value.status, caught.value.trace_id, caught.value.operation_id) == (
        status,
        "t-1",
        "op",
    )
    assert "locationId must be a string" in caught.value.message
    assert SyncLog.objects.count() == 1 and sleeps == []


def test_a_scope_401_is_not_refreshed(connection, mocked, api_base, token_url, sleeps):
    mocked.add(
        responses.GET,
        f"{api_base}/x",
        status=401,
        json={"message": "The token is not authorized for this scope."},
    )
    with pytest.raises(GhlScopeError):
        ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert not any(call.request.url == token_url for call in mocked.calls)


def test_nothing_is_sent_for_a_disconnected_connection(connection, mocked):
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.DISCONNECTED)
    with pytest.raises(GhlNotConnected):
        ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert len(mocked.calls) == 0


def test_the_sync_log_strips_secrets_from_query_strings_and_bodies(connection, mocked, api_base):
    mocked.add(responses.GET, f"{api_base}/x", json={"echo": ACCESS, "refresh_token": "zzz-secret"})
    ghl_request(
        connection_id=connection.pk,
        method="GET",
        path="/x?access_token=leak123&page=2",
        params={"client_secret": "leak456", "q": "ok"},
    )
    log = SyncLog.objects.get()
    assert "leak123" not in log.path and "leak456" not in log.path
    assert "page=2" in log.path and "q=ok" in log.path
    assert ACCESS not in log.response_summary and "zzz-secret" not in log.response_summary


@override_settings(GHL_SYNC_LOG_SUMMARY_CHARS=200)
@override_settings(SYNC_LOG_BODY_SAMPLE=1)
def test_sync_log_summaries_are_size_capped(connection, mocked, api_base):
    mocked.add(
        responses.GET, f"{api_base}/x", json={"contacts": [{"id": str(i)} for i in range(500)]}
    )
    ghl_request(connection_id=connection.pk, method="GET", path="/x")
    summary = SyncLog.objects.get().response_summary
    assert len(summary) < 260 and "more characters" in summary


@override_settings(GHL_CONNECT_TIMEOUT=4, GHL_READ_TIMEOUT=25)
def test_every_request_carries_connect_and_read_timeouts(connection, mocked, api_base):
    mocked.add(responses.GET, f"{api_base}/x", json={})
    ghl_request(connection_id=connection.pk, method="GET", path="/x")
    assert mocked.calls[0].request.req_kwargs["timeout"] == (4, 25)


class _Proxy:
    """A one-answer HTTP proxy on a free port: records the request line it was asked to forward."""

    def __init__(self):
        import socket
        import threading

        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.seen = []
        threading.Thread(target=self._answer, daemon=True).start()

    def _answer(self):
        client, _ = self.server.accept()
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                head += client.recv(4096)
            self.seen.append(head.split(b"\r\n", 1)[0].decode())
            self.seen.append(head.decode())
            client.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b'Content-Length: 12\r\nConnection: close\r\n\r\n{"ok": true}'
            )
        self.server.close()


def test_the_environments_proxy_is_used_and_netrc_never_replaces_the_bearer_token(
    connection, monkeypatch, tmp_path
):
    """The door reads the environment once per thread and origin rather than on every request;
    what it reads still applies."""
    import threading

    from integrations.ghl import transport

    proxy = _Proxy()
    netrc = tmp_path / "netrc"
    netrc.write_text("machine ghl.proxied.test login someone password hunter2\n")
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setattr(transport, "_local", threading.local())  # this thread starts afresh
    Connection.objects.filter(pk=connection.pk).update(
        app=HighLevelApp.objects.create(name="Proxied", mode=HighLevelApp.Mode.LIVE)
    )
    monkeypatch.setattr(
        HighLevelApp, "api_base_url", property(lambda app: "http://ghl.proxied.test")
    )
    response = ghl_request(connection_id=connection.pk, method="GET", path="/contacts/c1")
    assert response.data == {"ok": True}
    assert proxy.seen[0] == "GET http://ghl.proxied.test/contacts/c1 HTTP/1.1"
    assert f"Authorization: Bearer {ACCESS}" in proxy.seen[1]


def test_a_page_loops_scope_reads_the_related_rows_once_and_the_connection_every_time(
    connection, mocked, api_base
):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from integrations.ghl.client import DoorScope

    mocked.add(responses.GET, f"{api_base}/x", json={})
    scope = DoorScope()
    ghl_request(connection_id=connection.pk, method="GET", path="/x", scope=scope)
    with CaptureQueriesContext(db) as queries:
        ghl_request(connection_id=connection.pk, method="GET", path="/x", scope=scope)
    reads = [q["sql"] for q in queries if 'FROM "integrations_connection"' in q["sql"]]
    assert len(reads) == 1 and "JOIN" not in reads[0]  # its own row only, but read again
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.DISCONNECTED)
    with pytest.raises(GhlNotConnected):
        ghl_request(connection_id=connection.pk, method="GET", path="/x", scope=scope)
    assert len(mocked.calls) == 2


def test_a_cookie_one_answer_sets_is_never_sent_on_later_calls(connection, mocked, api_base):
    """The door's keep-alive session was shared by every call of a thread, other locations'
    included, and sent back any cookie an answer set (a load balancer's, a session's). HighLevel's
    API is bearer-token only: the door keeps no cookies."""
    mocked.add(
        responses.GET,
        f"{api_base}/contacts/c1",
        json={"contact": {"id": "c1"}},
        headers={"Set-Cookie": "sid=from-location-1; Path=/"},
    )
    mocked.add(responses.GET, f"{api_base}/contacts/c2", json={"contact": {"id": "c2"}})
    for contact in ("c1", "c2"):
        ghl_request(
            connection_id=connection.pk,
            method="GET",
            path=f"/contacts/{contact}",
            operation_id="get-contact",
            version="2021-07-28",
        )
    assert "Cookie" not in mocked.calls[1].request.headers
