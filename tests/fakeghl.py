"""The one HighLevel fake for unit tests: OAuth tokens, a rate budget and a location's contacts.

- ``POST /oauth/token`` (``refresh_token`` grant): refresh tokens are single-use, as HighLevel's
  are; a reused or unknown one gets ``invalid_grant``. ``refresh_delay`` widens the race window.
- Every API request counts against a budget (per value of the ``X-Fake-Budget`` header, standing
  in for HighLevel's per-location budget): past ``limit`` requests within ``window_s`` it is 429.
  Then any access token but the current one is 401 ``Invalid JWT``.
- ``POST /contacts/search``: ``pageLimit`` + ``searchAfter`` (from the last record), ``filters``
  with ``dateUpdated`` ``range``; answers ``{"contacts": [...], "total": n}``.
- ``GET /contacts/``: ``limit`` + ``startAfter``/``startAfterId``, ``meta.nextPageUrl``.
- Any other API path answers an empty contact list.

In-process tests put it behind ``responses`` (:meth:`FakeHighLevel.install`); tests whose threads
or processes must share one server serve it over real HTTP (``with FakeHighLevel(...) as fake``,
then point ``SANDBOX_BASE_URL`` at ``fake.base_url``; the API and the token endpoint live under
its ``/services`` host role, as in the sandbox). The sandbox over HTTP is for end-to-end
tests; this is for the door's and the sync's unit tests.
"""

import json
import random
import string
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import responses


class Killed(BaseException):
    """Stands for SIGKILL: nothing in the worker catches it (see ``kill_on``)."""


class FakeHighLevel:
    def __init__(
        self,
        *,
        access: str,
        refresh: str,
        location_id: str = "loc-1",
        refresh_delay: float = 0.2,
        limit: int | None = None,
        window_s: float = 10.0,
    ):
        self.access, self.refresh = access, refresh
        self.location_id = location_id
        self.refresh_delay = refresh_delay
        self.limit, self.window_s = limit, window_s
        self.refresh_calls = 0
        self.invalid_grants = 0
        self.api_arrivals: list[float] = []
        self.arrivals_by_budget: dict[str, list[float]] = {}
        self.rejected_429 = 0
        self.rows: list[dict] = []  # the location's contacts, in creation order
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)
        self.requests: list[tuple] = []  # (method, path, query or body) of every contacts request
        self.kill_on: int | None = (
            None  # raise Killed on this contacts request (1-based, in-process)
        )
        self.api_base = ""
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # -- the location's data ---------------------------------------------------------------

    def _stamp(self) -> str:
        self.clock += timedelta(milliseconds=random.randint(1, 3))
        return self.clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def add(self, count: int) -> None:
        for _ in range(count):
            n = len(self.rows)
            stamp = self._stamp()
            self.rows.append(
                {
                    "id": "".join(random.choices(string.ascii_letters, k=20)),
                    "locationId": self.location_id,
                    "firstName": f"First{n}",
                    "lastName": f"Last{n}",
                    "email": f"person{n}@example.com",
                    "tags": ["lead"],
                    "dateAdded": stamp,
                    "dateUpdated": stamp,
                }
            )

    def change(self, index: int, **fields) -> None:
        self.rows[index].update(fields, dateUpdated=self._stamp())

    def delete(self, index: int) -> dict:
        return self.rows.pop(index)

    # -- serving: in-process behind `responses`, or over real HTTP ---------------------------

    def install(self, rsps: responses.RequestsMock, *, base: str) -> None:
        """Answer ``base`` (settings.SANDBOX_BASE_URL) through ``rsps``, in this process."""
        self.api_base = base.rstrip("/") + "/services"
        for method, url in (
            ("POST", f"{self.api_base}/contacts/search"),
            ("GET", f"{self.api_base}/contacts/"),
            ("POST", base.rstrip("/") + "/services/oauth/token"),
        ):
            rsps.add_callback(method, url, callback=self._responses_callback)

    def _responses_callback(self, request):
        split = urlsplit(request.url)
        status, payload = self.handle(
            method=request.method,
            path=split.path,
            query=_query(split.query),
            headers=request.headers,
            body=request.body or b"",
        )
        return status, {}, json.dumps(payload)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/sandbox"

    def __enter__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._http_handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.api_base = self.base_url + "/services"
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def _http_handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                status, payload = fake.handle(
                    method=self.command,
                    path=split.path,
                    query=_query(split.query),
                    headers=self.headers,
                    body=self.rfile.read(length) if length else b"",
                )
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        return Handler

    # -- HighLevel's behaviour ---------------------------------------------------------------

    def handle(self, *, method, path, query, headers, body) -> tuple[int, object]:
        """(status, JSON payload) for one request, whichever way it arrived."""
        if path.endswith("/oauth/token"):
            return self._token(_query(body.decode() if isinstance(body, bytes) else body))
        prefix = urlsplit(self.api_base).path
        api_path = path[len(prefix) :] if path.startswith(prefix) else path
        now = time.time()
        budget = headers.get("X-Fake-Budget", "")  # one budget per value
        with self.lock:
            arrivals = self.arrivals_by_budget.setdefault(budget, [])
            if self.limit is not None:
                recent = [t for t in arrivals if t > now - self.window_s]
                if len(recent) >= self.limit:
                    self.rejected_429 += 1
                    return 429, {"message": "Too many requests"}
            arrivals.append(now)
            self.api_arrivals.append(now)
            current = self.access
        if headers.get("Authorization") != f"Bearer {current}":
            return 401, {"message": "Invalid JWT", "statusCode": 401}
        if (method, api_path) == ("POST", "/contacts/search"):
            return self._search(json.loads(body or b"{}"))
        if (method, api_path) == ("GET", "/contacts/"):
            return self._list(query)
        return 200, {"contacts": [], "meta": {"total": 0}}

    def _token(self, form):
        time.sleep(self.refresh_delay)  # widen the race window
        with self.lock:
            self.refresh_calls += 1
            if (
                form.get("grant_type") != "refresh_token"
                or form.get("refresh_token") != self.refresh
            ):
                self.invalid_grants += 1
                return 400, {"error": "invalid_grant", "error_description": "Invalid refresh token"}
            n = self.refresh_calls
            self.access, self.refresh = f"access-after-{n}-xxxxxxxx", f"refresh-after-{n}-xxxxxxxx"
            return 200, {
                "access_token": self.access,
                "refresh_token": self.refresh,
                "expires_in": 86399,
                "token_type": "Bearer",
                "scope": "contacts.readonly contacts.write",
                "userType": "Location",
                "locationId": self.location_id,
                "userId": "u1",
            }

    def _count(self, entry):
        self.requests.append(entry)
        if self.kill_on is not None and len(self.requests) == self.kill_on:
            raise Killed

    def _search(self, body):
        self._count(("POST", "/contacts/search", body))
        rows = self.rows
        for flt in body.get("filters") or []:
            if flt.get("field") != "dateUpdated" or flt.get("operator") != "range":
                return 422, {
                    "message": [f"unsupported filter {flt!r}"],
                    "error": "Unprocessable Entity",
                }
            rows = [r for r in rows if r["dateUpdated"] >= flt["value"]["gte"]]
        start = 0
        if body.get("searchAfter"):
            last_id = body["searchAfter"][-1]
            start = next(i for i, r in enumerate(rows) if r["id"] == last_id) + 1
        limit = int(body.get("pageLimit", 20))
        if limit > 100:
            return 422, {"message": ["pageLimit must not be greater than 100"]}
        page = [
            {**r, "searchAfter": [r["dateAdded"], r["id"]]} for r in rows[start : start + limit]
        ]
        return 200, {"contacts": page, "total": len(rows)}

    def _list(self, query):
        self._count(("GET", "/contacts/", query))
        if not query.get("locationId"):
            return 422, {
                "message": ["locationId should not be empty"],
                "error": "Unprocessable Entity",
            }
        if query["locationId"] != self.location_id:
            return 403, {"message": "The token does not have access to this location."}
        limit = int(float(query.get("limit", 20)))
        if limit > 100:
            return 422, {"message": ["limit must not be greater than 100"]}
        start = 0
        if query.get("startAfterId"):
            start = next(i for i, r in enumerate(self.rows) if r["id"] == query["startAfterId"]) + 1
        page = self.rows[start : start + limit]
        meta = {
            "total": len(self.rows),
            "nextPageUrl": None,
            "startAfterId": None,
            "startAfter": None,
        }
        if start + limit < len(self.rows):
            after = {"startAfterId": page[-1]["id"], "startAfter": 1700000000000 + start + limit}
            meta.update(
                after, nextPageUrl=f"{self.api_base}/contacts/?{urlencode({**query, **after})}"
            )
        return 200, {"contacts": page, "meta": meta}


def _query(text: str) -> dict:
    return {k: v[0] for k, v in parse_qs(text or "").items()}
