"""A tiny stand-in for HighLevel's token endpoint and one API route, over real HTTP.

Used where threads or processes must share one server: the refresh race and the shared rate
budget. Refresh tokens are single-use, as HighLevel's are; the API answers 401 for any access
token but the current one, and 429 when more than ``limit`` requests arrive within ``window_s``
(per value of the ``X-Fake-Budget`` header, standing in for HighLevel's per-location budget).
The sandbox replaces this in end-to-end tests.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeHighLevel:
    def __init__(self, *, access: str, refresh: str, refresh_delay: float = 0.2,
                 limit: int | None = None, window_s: float = 10.0):
        self.access, self.refresh = access, refresh
        self.refresh_delay = refresh_delay
        self.limit, self.window_s = limit, window_s
        self.refresh_calls = 0
        self.invalid_grants = 0
        self.api_arrivals: list[float] = []
        self.arrivals_by_budget: dict[str, list[float]] = {}
        self.rejected_429 = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/sandbox"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, payload, headers=None):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path != "/sandbox/services/oauth/token":
                    return self._send(404, {"message": "Not found"})
                time.sleep(fake.refresh_delay)  # widen the race window
                with fake.lock:
                    fake.refresh_calls += 1
                    if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != fake.refresh:
                        fake.invalid_grants += 1
                        return self._send(400, {"error": "invalid_grant",
                                                "error_description": "Invalid refresh token"})
                    n = fake.refresh_calls
                    fake.access, fake.refresh = f"access-after-{n}-xxxxxxxx", f"refresh-after-{n}-xxxxxxxx"
                    payload = {"access_token": fake.access, "refresh_token": fake.refresh,
                               "expires_in": 86399, "token_type": "Bearer",
                               "scope": "contacts.readonly contacts.write", "userType": "Location",
                               "locationId": "loc-1", "userId": "u1"}
                return self._send(200, payload)

            def do_GET(self):
                now = time.time()
                budget = self.headers.get("X-Fake-Budget", "")  # one budget per value
                with fake.lock:
                    arrivals = fake.arrivals_by_budget.setdefault(budget, [])
                    if fake.limit is not None:
                        recent = [t for t in arrivals if t > now - fake.window_s]
                        if len(recent) >= fake.limit:
                            fake.rejected_429 += 1
                            return self._send(429, {"message": "Too many requests"})
                    arrivals.append(now)
                    fake.api_arrivals.append(now)
                    current = fake.access
                if self.headers.get("Authorization") != f"Bearer {current}":
                    return self._send(401, {"message": "Invalid JWT", "statusCode": 401})
                return self._send(200, {"contacts": [], "meta": {"total": 0}})

        return Handler
