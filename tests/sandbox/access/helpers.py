"""Walk the sandbox's OAuth flow the way the portal does: consent page, then /oauth/token."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from django.db import connection

CLIENT_ID = "rankr-app"
CLIENT_SECRET = "rankr-secret"
REDIRECT = "https://portal.test/oauth/callback?from=sandbox"
SCOPES = [
    "contacts.readonly",
    "contacts.write",
    "locations.readonly",
    "oauth.readonly",
    "oauth.write",
]
CONSENT = "/sandbox/v2/oauth/chooselocation"
TOKEN = "/sandbox/oauth/token"
INSTALLED = "/sandbox/oauth/installedLocations"
ROOT = Path(__file__).resolve().parents[3]


def consent_params(*, scopes=SCOPES, state="state-1", **extra):
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": " ".join(scopes),
        "state": state,
    }
    params.update(extra)
    return params


def consent_post(client, *, decision="approve", locations=("demo-loc-0001",), agency=(), **params):
    """POST the consent form; returns the redirect's query as a dict of single values."""
    form = consent_params(**params)
    form.update({"decision": decision, "location": list(locations), "agency": list(agency)})
    response = client.post(CONSENT, form)
    assert response.status_code == 302, response.content
    target = urlsplit(response["Location"])
    return {k: v[0] for k, v in parse_qs(target.query, keep_blank_values=True).items()}, target


def token_post(client, **form):
    """POST form-encoded, as HighLevel requires (the test client would send multipart)."""
    base = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    base.update(form)
    return client.post(TOKEN, urlencode(base), content_type="application/x-www-form-urlencoded")


def tokens_for(client, *, locations=("demo-loc-0001",), agency=(), user_type=None, scopes=SCOPES):
    """Approve on the consent page and exchange the code; returns the token answer."""
    query, _ = consent_post(client, locations=locations, agency=agency, scopes=scopes)
    form = {"grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT}
    if user_type:
        form["user_type"] = user_type
    response = token_post(client, **form)
    assert response.status_code == 200, response.content
    return response.json()


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_VERSION": "2021-07-28"}


def subprocess_env(**extra):
    """Environment for a child process that must see this test's database."""
    env = dict(os.environ, PORTAL_ENV="test", PYTHONPATH=str(ROOT))
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(settings["NAME"])
        env.pop("DATABASE_URL", None)
    else:
        user = settings["USER"] or "postgres"
        host = settings["HOST"] or "127.0.0.1"
        port = settings["PORT"] or 5432
        env["DATABASE_URL"] = f"postgres://{user}@{host}:{port}/{settings['NAME']}"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """A real sandbox process (as the Procfile runs it) on a free port."""

    def __init__(self, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=subprocess_env(**env),
        )

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                requests.get(f"{self.url}/sandbox/webhook-keys/none.pem", timeout=10)
                return self
            except requests.RequestException:  # not listening yet, or still importing Django
                time.sleep(0.1)
        raise TimeoutError("gunicorn did not start")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
