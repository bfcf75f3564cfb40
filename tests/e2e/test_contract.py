"""The contract test: every operation of the registry, through the door, against the sandbox.

One sandbox process (gunicorn, its rate limit raised for the test) and one location and one agency
connection serve the whole module, connected through the sandbox's consent page. Each operation
gets a request built from the spec (``integrations.catalog.examples``) with ids of resources that
exist, runs through ``operation_run`` and must succeed with an answer that validates against the
spec (``response_errors``). An operation may only be skipped with a written reason in ``SKIPS``.
"""

import pytest
from django.core.management import call_command
from django.test import override_settings

from integrations.catalog.calls import OperationInvalid, binary_fields, response_errors
from integrations.catalog.examples import request_example
from integrations.catalog.named import TRIGGER, named_all
from integrations.catalog.registry import AGENCY, registry
from integrations.catalog.services import operation_pages, operation_run
from integrations.ghl.uploads import UploadFile
from integrations.models import Connection, HighLevelApp
from integrations.sync.onboarding import oauth_finish, oauth_start
from portal.models import Agency, Location
from tests.conftest import _roles_present
from tests.e2e.portal import Browser, query_of
from tests.spec_defects import portal_unrunnable

pytestmark = pytest.mark.slow

OPERATIONS = sorted(registry())
COMPANY, LOCATION, OTHER_LOCATION = "company-test-0001", "loc-test-0001", "loc-test-0002"
CLIENT_ID, CLIENT_SECRET = "contract-client", "contract-secret-0123456789"
REDIRECT = "http://portal.test/integrations/oauth/callback/"
ID_KEYS = ("contactId", "conversationId")
CONNECTION_KEYS = ("locationId", "location_id", "altId", "altType", "companyId")

# Operations that cannot run as a plain spec-built request, each with the reason (reviewed).
SKIPS = {
    "POST /oauth/token": "the token endpoint takes the app's secret and a single-use code or refresh "
    "token; tests/e2e/test_consent.py and test_refresh.py exercise it for real",
    # The portal checks requests and answers against the spec as written: it refuses the request
    # (POST/PUT) or finds the answer invalid (GET) where no instance can satisfy the spec.
    **portal_unrunnable(),
}


@pytest.fixture(scope="module")
def contract(django_db_setup, django_db_blocker):
    """The sandbox in its own process and the portal's two connections to it."""
    from sandbox.access.services.registry import sandbox_app_register, sandbox_company_ensure
    from tests.sandbox.access.helpers import Gunicorn

    with django_db_blocker.unblock():
        scopes = sorted({s for op in registry().values() for s in op.scopes})
        sandbox_company_ensure(
            company_id=COMPANY,
            name="Contract Agency",
            locations=[
                {"location_id": LOCATION, "name": "Contract One"},
                {"location_id": OTHER_LOCATION, "name": "Contract Two"},
            ],
        )
        sandbox_app_register(
            name="Portal",
            redirect_uris=[REDIRECT],
            scopes=scopes,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
        server = Gunicorn(SANDBOX_RATE_BURST=1_000_000, SANDBOX_RATE_DAILY=10_000_000)
        limits = override_settings(
            SANDBOX_BASE_URL=server.url + "/sandbox",
            GHL_RATE_LIMIT_BURST=1_000_000,
            GHL_RATE_LIMIT_DAILY=10_000_000,
        )
        limits.enable()
        try:
            server.wait_ready()
            app = HighLevelApp(
                name="Contract",
                mode=HighLevelApp.Mode.SANDBOX,
                client_id=CLIENT_ID,
                app_id=CLIENT_ID,
                redirect_url=REDIRECT,
                scopes=" ".join(scopes),
            )
            app.client_secret = CLIENT_SECRET
            app.save()
            agency = Agency.objects.create(name="Contract Agency", company_id=COMPANY)
            location = Location.objects.create(
                agency=agency, location_id=LOCATION, name="Contract One"
            )
            connections = {
                "location": _connect(
                    app,
                    server.url,
                    kind="location",
                    location=location,
                    ticks={"locations": [LOCATION]},
                ),
                "agency": _connect(
                    app, server.url, kind="agency", agency=agency, ticks={"agency": [COMPANY]}
                ),
            }
            yield connections
        finally:
            limits.disable()
            server.stop()
            call_command("flush", interactive=False, verbosity=0)  # as a transactional test does
            _roles_present()  # and put the role groups back, as tests/conftest.py does after one


def _connect(app, base, *, kind, ticks, **target) -> Connection:
    """Start a connection the portal's way, approve it on the sandbox's consent page, finish it."""
    import requests

    session = _Session()
    consent = oauth_start(session=session, app=app, kind=kind, **target)
    redirect = Browser(base=base, session=requests.Session()).consent(consent, **ticks)
    query = query_of(redirect)
    return oauth_finish(
        session=session, state=query["state"], code=query["code"], callback_url=REDIRECT, user=None
    )


class _Session(dict):
    """Stands in for request.session in the portal's oauth_start/oauth_finish."""

    modified = False


@pytest.fixture
def unblocked(contract, django_db_blocker):
    with django_db_blocker.unblock():
        yield contract


def request_for(operation):
    """(params, body) from the spec, with ids of sandbox resources where the spec names one."""
    from sandbox.models import Resource
    from sandbox.spec.registry import registry_get
    from tests.sandbox.test_contract import _resource, path_values

    sandbox_op = registry_get().by_key[(operation.method, operation.path)]
    if "{locationId}" in operation.path:  # the location's own record: made afresh for each
        Resource.objects.filter(kind="location", resource_id=LOCATION).delete()
    ids = path_values(sandbox_op)
    ids.setdefault("contactId", _resource("contact"))
    ids.setdefault("conversationId", _resource("conversation"))
    params, body = request_example(operation)
    for param in operation.form_params:
        if param.location == "path" and param.name in ids:
            params[param.name] = ids[param.name]
        elif param.location == "query" and param.required and param.name in ID_KEYS:
            params[param.name] = ids[param.name]
    agency = operation.access == AGENCY
    for name in CONNECTION_KEYS:
        params.pop(name, None)  # the connection supplies them
        if isinstance(body, dict):
            body.pop(name, None)
    if agency:  # an agency token names the location itself where the operation needs one
        for param in operation.form_params:
            if param.required and param.name in ("locationId", "location_id"):
                params[param.name] = LOCATION
        if isinstance(body, dict) and "locationId" in (
            (operation.body_schema or {}).get("required") or []
        ):
            body["locationId"] = LOCATION
    if "appId" in params:
        params["appId"] = CLIENT_ID  # the marketplace app the agency connection belongs to
    if isinstance(body, dict):
        for key in ID_KEYS:
            if isinstance(body.get(key), str):
                body[key] = ids[key]
    return params, body


@pytest.mark.parametrize("key", OPERATIONS)
def test_operation_succeeds_through_the_door_with_a_spec_valid_answer(key, unblocked):
    if key in SKIPS:
        pytest.skip(SKIPS[key])
    operation = registry()[key]
    connection = unblocked["agency" if operation.access == AGENCY else "location"]
    params, body = request_for(operation)
    upload = None
    if operation.body_content_type == "multipart/form-data":  # a real file, checked on the way back
        upload = UploadFile(name="rankr-upload.csv", content=UPLOAD_BYTES, content_type="text/csv")
        body = {k: v for k, v in (body or {}).items() if k not in ("hosted", "fileUrl")}
        # A form cannot carry an empty list: a required one gets one value.
        body = {
            k: (["https://example.com/attachment.png"] if v == [] else v) for k, v in body.items()
        }
        body.update(dict.fromkeys(binary_fields(operation), upload))
    answer = operation_run(connection_id=connection.pk, operation_id=key, params=params, body=body)
    assert 200 <= answer.status < 300
    assert response_errors(operation=operation, data=answer.data) == []
    if upload is not None:
        upload_round_trip_check(answer.data)


UPLOAD_BYTES = b"id,name\n1,\xc3\xa9t\xc3\xa9\n" + bytes(range(256))


def upload_round_trip_check(data):
    """Where the answer says the file went, the sandbox serves the very bytes the door sent."""
    import requests

    data = data or {}
    urls = (
        [data["url"]]
        if "url" in data
        else list((data.get("uploadedFiles") or {}).values())
        or [(data.get("results") or {}).get("url")]
    )
    assert urls and all(urls), data
    for url in urls:
        served = requests.get(url, timeout=20)
        assert served.status_code == 200 and served.content == UPLOAD_BYTES, url


@pytest.mark.parametrize(
    "key", [k for k in OPERATIONS if registry()[k].body_content_type == "multipart/form-data"]
)
def test_a_bodiless_upload_is_refused_before_it_is_sent(key, unblocked):
    operation = registry()[key]
    connection = unblocked["agency" if operation.access == AGENCY else "location"]
    params, body = request_for(operation)
    body = {k: v for k, v in (body or {}).items() if k not in ("hosted", "fileUrl", "file")}
    with pytest.raises(OperationInvalid, match="Choose a file"):
        operation_run(
            connection_id=connection.pk, operation_id=key, params=params, body=body or None
        )


def test_the_module_connects_a_location_and_an_agency_through_consent(unblocked):
    contract = unblocked
    location, agency = (Connection.objects.get(pk=contract[k].pk) for k in ("location", "agency"))
    assert (location.kind, location.location.location_id) == (Connection.Kind.LOCATION, LOCATION)
    assert (agency.kind, agency.location_id) == (Connection.Kind.AGENCY, None)
    assert {location.status, agency.status} == {Connection.Status.ACTIVE}


# The django_db mark makes pytest-django create the test database even when only this module is
# selected (the other tests here reach the database through django_db_blocker, outside any
# test transaction, because a sandbox process shares it). This test must not use `contract`:
# db tests run first, and the module fixture's teardown flushes the database.
@pytest.mark.django_db
def test_every_skip_names_a_real_operation_and_gives_a_reason():
    assert set(SKIPS) <= set(OPERATIONS)
    assert all(isinstance(reason, str) and len(reason.split()) >= 5 for reason in SKIPS.values())


@pytest.mark.parametrize("trigger", sorted(n.name for n in named_all() if n.kind == TRIGGER))
def test_each_polling_trigger_runs_its_first_page(trigger, unblocked):
    from integrations.catalog.polling import poll_plans

    plan = poll_plans()[trigger]
    operation = registry()[plan.operation]
    connection = unblocked["agency" if operation.access == AGENCY else "location"]
    params, body = request_for(operation)
    for name in (plan.paging.limit_param, *plan.paging.cursor_params):  # paging sets these
        params.pop(name, None)
        if isinstance(body, dict):
            body.pop(name, None)
    pages = operation_pages(
        connection_id=connection.pk,
        operation_id=plan.operation,
        params=params,
        body=body,
        max_pages=1,
    )
    first = next(pages)
    assert first.status == 200
    assert response_errors(operation=operation, data=first.data) == []
