import base64
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.contrib.auth import get_user_model
from responses import matchers

from integrations.models import Connection, Job, LocationMintBatch
from integrations.sync import onboarding
from integrations.sync.jobs import job_run
from integrations.sync.onboarding import SESSION_KEY
from portal.models import Location
from tests.integrations.conftest import CLIENT_SECRET

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/integrations/oauth/callback/"


def _start(admin_client, ghl_app, **form):
    response = admin_client.post("/integrations/connect/", {"app": ghl_app.pk, **form})
    assert response.status_code == 302
    consent = urlsplit(response["Location"])
    return consent, {k: v[0] for k, v in parse_qs(consent.query).items()}


def _token_mock(mocked, token_url, *, code, verifier, user_type, payload):
    return mocked.add(
        responses.POST,
        token_url,
        json=payload,
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "client_id": "app123-client",
                    "client_secret": CLIENT_SECRET,
                    "grant_type": "authorization_code",
                    "code": code,
                    "code_verifier": verifier,
                    "redirect_uri": CALLBACK,
                    "user_type": user_type,
                }
            )
        ],
    )


def test_location_consent_flow_stores_tokens_and_clears_the_code(
    admin_client, ghl_app, location, mocked, token_url
):
    consent, query = _start(admin_client, ghl_app, kind="location", location=location.pk)
    assert consent.geturl().startswith(
        "http://127.0.0.1:8001/sandbox/marketplace/v2/oauth/chooselocation?"
    )
    assert query["response_type"] == "code" and query["client_id"] == "app123-client"
    assert query["redirect_uri"] == CALLBACK and query["code_challenge_method"] == "S256"
    verifier = admin_client.session[SESSION_KEY][query["state"]]["verifier"]
    expected = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    assert query["code_challenge"] == expected
    exchange = _token_mock(
        mocked,
        token_url,
        code="the-code-123",
        verifier=verifier,
        user_type="Location",
        payload={
            "access_token": "at-fresh-11111111",
            "refresh_token": "rt-fresh-22222222",
            "expires_in": 86399,
            "scope": "contacts.readonly locations.readonly",
            "userType": "Location",
            "locationId": "loc-1",
            "userId": "u9",
        },
    )
    response = admin_client.get(
        f"/integrations/oauth/callback/?code=the-code-123&state={query['state']}"
    )
    connection = Connection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/integrations/connection/{connection.pk}/change/"
    assert exchange.call_count == 1
    assert (connection.location, connection.kind, connection.auth_type, connection.status) == (
        location,
        "location",
        "oauth",
        "active",
    )
    assert connection.access_token == "at-fresh-11111111"
    assert connection.refresh_token == "rt-fresh-22222222"
    assert connection.scope_set == {"contacts.readonly", "locations.readonly"}
    # The same callback again (a replay) is refused and exchanges nothing.
    replay = admin_client.get(
        f"/integrations/oauth/callback/?code=the-code-123&state={query['state']}"
    )
    assert replay.status_code == 400 and b"already used" in replay.content
    assert exchange.call_count == 1


def test_a_wrong_state_is_refused(admin_client, ghl_app, location, mocked):
    _start(admin_client, ghl_app, kind="location", location=location.pk)
    response = admin_client.get("/integrations/oauth/callback/?code=c&state=forged-state")
    assert response.status_code == 400 and b"Start the connection again" in response.content
    assert len(mocked.calls) == 0 and not Connection.objects.exists()


def test_a_state_from_another_session_is_refused(client, admin_client, ghl_app, location, mocked):
    _, query = _start(admin_client, ghl_app, kind="location", location=location.pk)
    other = get_user_model().objects.create_superuser("eve", "eve@x.test", "pw")
    client.logout()
    client.force_login(other)
    response = client.get(f"/integrations/oauth/callback/?code=c&state={query['state']}")
    assert response.status_code == 400 and len(mocked.calls) == 0


def test_the_callback_must_arrive_at_the_exact_redirect_url(
    admin_client, ghl_app, location, mocked
):
    ghl_app.redirect_url = "https://portal.example.com/integrations/oauth/callback/"
    ghl_app.save()
    _, query = _start(admin_client, ghl_app, kind="location", location=location.pk)
    response = admin_client.get(f"/integrations/oauth/callback/?code=c&state={query['state']}")
    assert response.status_code == 400 and b"redirect URL" in response.content
    assert len(mocked.calls) == 0


def test_a_token_for_another_location_is_refused(
    admin_client, ghl_app, location, mocked, token_url
):
    _, query = _start(admin_client, ghl_app, kind="location", location=location.pk)
    mocked.add(
        responses.POST,
        token_url,
        json={
            "access_token": "a-xxxxxxxx",
            "locationId": "elsewhere",
            "userType": "Location",
            "expires_in": 10,
            "userId": "u",
        },
    )
    response = admin_client.get(f"/integrations/oauth/callback/?code=c&state={query['state']}")
    assert response.status_code == 400 and b"elsewhere" in response.content
    assert not Connection.objects.exists()


def test_agency_consent_then_fifty_installed_locations_are_minted(
    admin_client,
    ghl_app,
    agency,
    mocked,
    token_url,
    api_base,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    monkeypatch.setattr(onboarding, "INSTALLED_PAGE_SIZE", 20)  # three pages
    _, query = _start(admin_client, ghl_app, kind="agency", agency=agency.pk)
    verifier = admin_client.session[SESSION_KEY][query["state"]]["verifier"]
    _token_mock(
        mocked,
        token_url,
        code="agency-code",
        verifier=verifier,
        user_type="Company",
        payload={
            "access_token": "agency-at-xxxxxxxx",
            "refresh_token": "agency-rt-xxxxxxxx",
            "expires_in": 86399,
            "scope": "oauth.readonly oauth.write",
            "userType": "Company",
            "companyId": "comp-1",
            "userId": "u1",
        },
    )
    response = admin_client.get(
        f"/integrations/oauth/callback/?code=agency-code&state={query['state']}"
    )
    agency_connection = Connection.objects.get(kind="agency")
    assert response["Location"] == f"/integrations/agency/{agency_connection.pk}/locations/"
    installed = [
        {"_id": f"hl-loc-{i:02d}", "name": f"Shop {i}", "address": "1 Main St"} for i in range(50)
    ]

    def installed_page(request):
        params = parse_qs(urlsplit(request.url).query)
        assert params["companyId"] == ["comp-1"] and params["appId"] == ["app123"]
        skip, limit = int(params["skip"][0]), int(params["limit"][0])
        return 200, {}, json.dumps({"locations": installed[skip : skip + limit], "count": 50})

    mocked.add_callback(
        responses.GET, f"{api_base}/oauth/installedLocations", callback=installed_page
    )
    page = admin_client.get(response["Location"])
    assert page.status_code == 200 and b"Shop 49" in page.content

    def mint(request):
        form = parse_qs(request.body)
        assert request.headers["Authorization"] == "Bearer agency-at-xxxxxxxx"
        return (
            200,
            {},
            json.dumps(
                {
                    "access_token": f"minted-{form['locationId'][0]}-xx",
                    "expires_in": 86399,
                    "scope": "contacts.readonly",
                    "locationId": form["locationId"][0],
                    "userId": "u1",
                }
            ),
        )

    mocked.add_callback(responses.POST, f"{api_base}/oauth/locationToken", callback=mint)
    enqueued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *a, **k: enqueued.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        posted = admin_client.post(response["Location"], {"all": "1"})
    batch = LocationMintBatch.objects.get()
    assert posted["Location"] == f"/integrations/batches/{batch.pk}/"
    job = Job.objects.get(kind="mint")
    assert enqueued == [("integrations.interfaces.tasks.job_run_task", job.pk)] and job.params == {
        "batch_id": batch.pk
    }
    progress = admin_client.get(posted["Location"])
    assert (
        b"0 connected, 0 failed, of 50" in progress.content
        and b'http-equiv="refresh"' in progress.content
    )
    assert job_run(job_id=job.pk) == Job.Status.SUCCEEDED
    assert job.attempt_rows.get().outcome == "succeeded"
    progress = admin_client.get(posted["Location"])
    assert b"50 connected, 0 failed, of 50" in progress.content
    minted = Connection.objects.filter(auth_type="agency_minted")
    assert minted.count() == 50 and Location.objects.count() == 50
    one = minted.get(location__location_id="hl-loc-07")
    assert one.parent == agency_connection and one.access_token == "minted-hl-loc-07-xx"


def test_an_expired_minted_token_is_renewed_from_the_agency(
    ghl_app, agency, location, mocked, api_base
):
    from integrations.ghl.client import ghl_request
    from tests.integrations.conftest import connection_make

    agency_connection = Connection(app=ghl_app, agency=agency, kind="agency")
    agency_connection.access_token = "agency-at-xxxxxxxx"
    agency_connection.refresh_token = "agency-rt-xxxxxxxx"
    agency_connection.token_expires_at = None
    agency_connection.save()
    minted = connection_make(
        app=ghl_app,
        location=location,
        access="old-minted-xx",
        refresh="",
        expires_in=-1,
        auth_type="agency_minted",
        parent=agency_connection,
    )
    mocked.add(
        responses.POST,
        f"{api_base}/oauth/locationToken",
        match=[
            matchers.urlencoded_params_matcher({"companyId": "comp-1", "locationId": "loc-1"}),
            matchers.header_matcher({"Authorization": "Bearer agency-at-xxxxxxxx"}),
        ],
        json={"access_token": "new-minted-xx", "expires_in": 86399},
    )
    mocked.add(
        responses.GET,
        f"{api_base}/x",
        json={},
        match=[matchers.header_matcher({"Authorization": "Bearer new-minted-xx"})],
    )
    ghl_request(connection_id=minted.pk, method="GET", path="/x")
    minted.refresh_from_db()
    assert minted.access_token == "new-minted-xx"


@pytest.mark.parametrize(
    "host,expected",
    [
        ("standard", "https://marketplace.gohighlevel.com/v2/oauth/chooselocation?"),
        ("white_label", "https://marketplace.leadconnectorhq.com/v2/oauth/chooselocation?"),
    ],
)
def test_live_apps_send_users_to_the_marketplace_host(
    admin_client, ghl_app, location, host, expected
):
    ghl_app.mode, ghl_app.marketplace_host = "live", host
    ghl_app.save()
    consent, query = _start(admin_client, ghl_app, kind="location", location=location.pk)
    assert consent.geturl().startswith(expected)
    assert query["scope"] == "contacts.readonly contacts.write locations.readonly"


def test_the_connections_list_offers_connect_buttons(admin_client):
    page = admin_client.get("/admin/integrations/connection/")
    assert b"/integrations/connect/?kind=location" in page.content
    assert b"/integrations/connect/?kind=agency" in page.content


def test_staff_cannot_start_an_agency_connection(client, ghl_app, agency, location, other_location):
    from django.contrib.auth.models import Group

    from tests.integrations.conftest import connection_make

    connection_make(app=ghl_app, location=other_location)  # the app connecting their agency
    user = get_user_model().objects.create_user("s", "s@x.test", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Agency staff"))
    location.staff.add(user)
    client.force_login(user)
    response = client.post(
        "/integrations/connect/", {"app": ghl_app.pk, "kind": "agency", "agency": agency.pk}
    )
    # Refused with the reason before any form: the button is not offered to them either.
    assert response.status_code == 403 and b"only users who see every location" in response.content
    ok = client.post(
        "/integrations/connect/", {"app": ghl_app.pk, "kind": "location", "location": location.pk}
    )
    assert ok.status_code == 302
