"""A person's browser on the portal and the sandbox consent page, over real HTTP (requests)."""

import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings
from django.test import Client

TIMEOUT = 20
HIDDEN = re.compile(r'type="hidden" name="([^"]+)" value="([^"]*)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Browser:
    """A requests.Session signed in to the portal as ``user`` (session cookie from force_login)."""

    base: str
    session: requests.Session

    @classmethod
    def signed_in(cls, *, base, user):
        client = Client()
        client.force_login(user)
        session = requests.Session()
        session.cookies.set(
            settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
        )
        return cls(base=base, session=session)

    def get(self, path, **kw):
        kw.setdefault("timeout", TIMEOUT)
        return self.session.get(path if path.startswith("http") else self.base + path, **kw)

    def post_form(self, path, data, **kw):
        """POST a portal form the way a browser does: CSRF token from the page first."""
        page = self.get(path)
        assert page.status_code == 200, page.text[:500]
        token = CSRF.search(page.text).group(1)
        kw.setdefault("timeout", TIMEOUT)
        return self.session.post(
            self.base + path,
            data={**data, "csrfmiddlewaretoken": token},
            headers={"Referer": self.base + path},
            **kw,
        )

    def consent(self, consent_url, *, locations=(), agency=(), decision="approve"):
        """Open the sandbox consent page, tick the boxes, press Approve; returns the redirect."""
        page = self.get(consent_url)
        assert page.status_code == 200, page.text[:500]
        form = {unescape(n): unescape(v) for n, v in HIDDEN.findall(page.text)}
        form.update({"location": list(locations), "agency": list(agency), "decision": decision})
        answer = self.session.post(page.url, data=form, allow_redirects=False, timeout=TIMEOUT)
        assert answer.status_code == 302, answer.text[:500]
        return answer.headers["Location"]


def query_of(url) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
