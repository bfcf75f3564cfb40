"""The OAuth flow over real HTTP, as the portal's connection code will walk it."""

import re
import threading
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.access.services.oauth import pkce_challenge
from sandbox.access.services.registry import sandbox_app_register, sandbox_demo_company_ensure
from tests.sandbox.access.helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT, SCOPES

pytestmark = pytest.mark.slow  # a live server


def test_consent_code_token_refresh_over_http(live_server):
    sandbox_demo_company_ensure()
    sandbox_app_register(
        name="Rankr",
        redirect_uris=[REDIRECT],
        scopes=SCOPES,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    base = f"{live_server.url}/sandbox"
    verifier = "portal-verifier-" + "x" * 40
    session = requests.Session()
    page = session.get(
        f"{base}/v2/oauth/chooselocation",
        timeout=10,
        params={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "scope": " ".join(SCOPES),
            "state": "xyz/=+ 1",
            "code_challenge": pkce_challenge(verifier=verifier),
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 200
    form = {
        unescape(n): unescape(v)
        for n, v in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    }
    form.update({"agency": "demo-company-0001", "decision": "approve"})
    approved = session.post(page.url, data=form, allow_redirects=False, timeout=10)
    assert approved.status_code == 302
    query = parse_qs(urlsplit(approved.headers["Location"]).query)
    assert query["state"] == ["xyz/=+ 1"]

    tokens = session.post(
        f"{base}/oauth/token",
        timeout=10,
        data={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "user_type": "Company",
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    ).json()
    assert tokens["userType"] == "Company" and len(tokens["approvedLocations"]) == 3
    installed = session.get(
        f"{base}/oauth/installedLocations",
        timeout=10,
        params={"companyId": "demo-company-0001", "appId": CLIENT_ID},
        headers={"Authorization": f"Bearer {tokens['access_token']}", "Version": "2021-07-28"},
    )
    assert installed.status_code == 200 and installed.json()["count"] == 3
    assert installed.headers["X-RateLimit-Remaining"] == "99"

    # Two processes of the portal refreshing the same token at once: exactly one wins.
    answers = []

    def refresh():
        answers.append(
            requests.post(
                f"{base}/oauth/token",
                timeout=10,
                data={
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "grant_type": "refresh_token",
                    "refresh_token": tokens["refresh_token"],
                },
            )
        )

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 400, 400, 400]
    assert all(a.json()["error"] == "invalid_grant" for a in answers if a.status_code == 400)
