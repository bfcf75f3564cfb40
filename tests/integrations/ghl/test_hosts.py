"""Live and sandbox apps build their URLs on one code path: a host role plus HighLevel's path."""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.ghl.oauth import consent_url_build
from integrations.models import HighLevelApp

DOCS = Path(__file__).resolve().parents[3] / "specs/highlevel/docs/oauth/Authorization.md"


def _docs_templates():
    """The two consent URL templates of Authorization.md, joined onto one line each."""
    text = DOCS.read_text()
    blocks = re.findall(r"```\n(https://marketplace[^`]*)```", text)
    return [block.replace("\n", "") for block in blocks]


def _app(mode, host):
    app = HighLevelApp(
        name="x",
        mode=mode,
        marketplace_host=host,
        client_id="CLIENT_ID",
        redirect_url="https://myapp.com/oauth/callback/gohighlevel",
        scopes="conversations/message.readonly conversations/message.write",
    )
    return app


@pytest.mark.parametrize("host,index", [("standard", 0), ("white_label", 1)])
def test_a_live_apps_consent_url_matches_the_docs_template(host, index):
    template = _docs_templates()[index]
    expected = urlsplit(template)
    url, state = consent_url_build(app=_app("live", host), code_challenge="c")
    built = urlsplit(url)
    assert (built.scheme, built.netloc, built.path) == (
        expected.scheme,
        expected.netloc,
        expected.path,
    )
    assert built.path == "/v2/oauth/chooselocation"
    ours, theirs = parse_qs(built.query), parse_qs(expected.query)
    for name in ("response_type", "redirect_uri", "client_id", "scope"):
        assert ours[name] == theirs[name], name
    assert ours["state"] == [state] and len(state) >= 30  # OAuth2Session's one-time state


def test_live_uses_highlevels_hosts_by_default_and_settings_override_them(settings):
    app = _app("live", "standard")
    assert app.api_base_url == "https://services.leadconnectorhq.com"
    assert app.token_url == "https://services.leadconnectorhq.com/oauth/token"
    settings.GHL_API_HOST = "https://api.example.test/"
    settings.GHL_MARKETPLACE_HOST = "https://consent.example.test"
    assert app.token_url == "https://api.example.test/oauth/token"
    assert app.consent_url == "https://consent.example.test/v2/oauth/chooselocation"


def test_a_sandbox_app_differs_only_in_hosts(settings):
    settings.SANDBOX_BASE_URL = "http://127.0.0.1:9/sandbox"
    live, sandbox = _app("live", "white_label"), _app("sandbox", "white_label")
    for attr in ("api_base_url", "token_url", "consent_url"):
        live_path = urlsplit(getattr(live, attr)).path
        sandbox_path = urlsplit(getattr(sandbox, attr)).path
        assert sandbox_path.endswith(live_path), attr
    assert (
        sandbox.consent_url
        == "http://127.0.0.1:9/sandbox/marketplace-whitelabel/v2/oauth/chooselocation"
    )
    assert sandbox.token_url == "http://127.0.0.1:9/sandbox/services/oauth/token"
