"""The contract test: every one of the spec's 576 operations, through the real dispatcher.

For each operation it sends a request the spec accepts (parameters and body built from the spec's
own schemas and examples, ids of resources that exist) and expects a 2xx whose body validates
against the spec's response schema for that status; then requests the spec rejects (no
``Version`` header; a body or query that breaks the schema) and expects HighLevel's error shape.
"""

from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from sandbox.api.dispatch import DELEGATED
from sandbox.api.handlers.crud import Crud
from sandbox.api.handlers.routes import ROUTES
from sandbox.spec import schemas
from sandbox.spec.registry import registry_get
from sandbox.state import store
from tests.sandbox.conftest import API, COMPANY, LOCATION
from tests.sandbox.oracle import oracle_request, request_errors, response_errors
from tests.spec_defects import answers_unjudgeable, as_method_path, requests_unjudgeable

pytestmark = pytest.mark.slow  # the per-operation contract: 576 operations

OPERATIONS = sorted(registry_get().by_key)
LOCATION_KEYS = ("locationId", "location_id")
AGENCY_ONLY = {"Agency-Access", "Agency-Access-Only"}
# Path parameters of the non-CRUD handlers, by the kind of resource they name.
PARAM_KINDS = {"contactId": "contact", "conversationId": "conversation", "relationId": "relation"}
# Handlers that load one resource by a path parameter without being a plain Crud route.
LOADED_BY = {
    ("PUT", "/contacts/{contactId}/tasks/{taskId}/completed"): ("task", "taskId"),
    ("PUT", "/opportunities/{id}/status"): ("opportunity", "id"),
    ("GET", "/users/{userId}"): ("user", "userId"),
    ("PUT", "/users/{userId}"): ("user", "userId"),
}
PATH_VALUES = {"type": "add"}
# Spec defects no instance can satisfy (tests/spec_defects.py): openapi-core rightly refuses
# every request (#4, #17) or answer (#4) of these operations.
REQUESTS_UNJUDGEABLE = as_method_path(requests_unjudgeable())
ANSWERS_UNJUDGEABLE = as_method_path(answers_unjudgeable())


def _resource(kind, *, parent_id=""):
    return store.resource_create(
        kind=kind,
        location_id=LOCATION,
        parent_id=parent_id,
        data={"contactId": parent_id} if parent_id else {},
    ).resource_id


def path_values(op) -> dict:
    """Ids for the operation's path parameters, creating the resources they must name."""
    handler = ROUTES.get(op.key)
    values = {}
    for name in op.path_param_names:
        if name == "locationId":
            values[name] = LOCATION
        elif isinstance(handler, Crud) and name == handler.parent_param:
            values[name] = _resource(handler.parent_kind)
        elif name in PARAM_KINDS:
            values[name] = _resource(PARAM_KINDS[name])
    if isinstance(handler, Crud) and handler.id_param and handler.id_param != "locationId":
        values[handler.id_param] = _resource(
            handler.kind, parent_id=values.get(handler.parent_param, "")
        )
    elif isinstance(handler, Crud) and handler.id_param == "locationId":
        store.resource_create(kind="location", location_id=LOCATION, resource_id=LOCATION, data={})
    if op.key in LOADED_BY:
        kind, name = LOADED_BY[op.key]
        values[name] = _resource(kind, parent_id=values.get("contactId", ""))
    declared = {p.name: p.schema for p in op.params if p.location == "path"}
    for name in op.path_param_names:
        if name not in values:
            values[name] = PATH_VALUES.get(name) or str(
                schemas.sample_valid(declared.get(name, {"type": "string"}))
            )
    if (
        op.method == "DELETE"
        and "contactId" in values
        and ("campaignId" in values or "workflowId" in values)
    ):
        kind = "campaign_enrolment" if "campaignId" in values else "workflow_enrolment"
        store.resource_create(
            kind=kind,
            location_id=LOCATION,
            parent_id=values["contactId"],
            data={"targetId": values.get("campaignId") or values.get("workflowId")},
        )
    return values


def fill_path(op, values) -> str:
    path = op.path
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def accepted_query(op, ids) -> dict:
    query = {}
    for param in op.params:
        if param.location != "query" or not param.required:
            continue
        if param.name in LOCATION_KEYS or (param.name == "altId" and _alt_location(op)):
            query[param.name] = LOCATION
        elif param.name == "companyId":  # the company the test's tokens belong to
            query[param.name] = COMPANY
        elif param.name in ids:
            query[param.name] = ids[param.name]
        else:
            value = schemas.sample_valid(param.schema)
            query[param.name] = (
                [str(v).lower() if isinstance(v, bool) else v for v in value]
                if isinstance(value, list)
                else (str(value).lower() if isinstance(value, bool) else value)
            )
    return query


def _alt_location(op) -> bool:
    """altId names a location when the operation's altType can only be (or defaults to) location."""
    for param in op.params:
        if param.name == "altType":
            return schemas.sample_valid(param.schema) == "location"
    return False


def without_read_only(schema, value):
    """A request body leaves out what the spec marks readOnly (openapi-core refuses it)."""
    if isinstance(value, dict) and isinstance(schema, dict):
        props = schema.get("properties", {})
        return {
            k: without_read_only(props.get(k, {}), v)
            for k, v in value.items()
            if not props.get(k, {}).get("readOnly")
        }
    if isinstance(value, list) and isinstance(schema, dict):
        return [without_read_only(schema.get("items", {}), v) for v in value]
    return value


def accepted_body(op, ids):
    if not op.body_schemas:
        return None, None
    ctype, schema = next(iter(op.body_schemas.items()))
    body = without_read_only(schema, schemas.sample_valid(schema))
    if isinstance(body, dict):
        for key in LOCATION_KEYS:
            if key in body:
                body[key] = LOCATION
        if "companyId" in body:
            body["companyId"] = COMPANY
        for key in ("contactId", "conversationId"):
            if isinstance(body.get(key), str) and key in ids:
                body[key] = ids[key]
        if body.get("altType") == "location" and "altId" in body:
            body["altId"] = LOCATION
    return ctype, body


def token_for(op, world):
    schemes = set(op.security_schemes)
    if schemes and schemes <= AGENCY_ONLY:
        return world.company_token
    return world.location_token


UPLOAD = ("rankr-upload.csv", b"id,name\n1,\xc3\xa9t\xc3\xa9\n" + bytes(range(256)), "text/csv")


def send(client, op, *, path, query, ctype, body, headers, upload=UPLOAD):
    url = API + path
    if ctype is None:
        return getattr(client, op.method.lower())(
            url, data=query if op.method == "GET" else None, QUERY_STRING=_qs(query), **headers
        )
    if op.method != "GET" and query:
        url += "?" + _qs(query)
    if ctype == "multipart/form-data":
        data = {k: v for k, v in (body or {}).items() if isinstance(v, (str, int, float, list))}
        data.pop("hosted", None)  # hosted=true uploads no file: the round trip needs one
        if upload is not None:
            data["file"] = SimpleUploadedFile(*upload)
        return client.generic(op.method, url, **_multipart(client, data), **headers)
    if ctype == "application/x-www-form-urlencoded":
        from urllib.parse import urlencode

        return client.generic(op.method, url, urlencode(body or {}), content_type=ctype, **headers)
    return client.generic(op.method, url, _json(body), content_type="application/json", **headers)


def _multipart(client, data):
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    return {"data": encode_multipart(BOUNDARY, data), "content_type": MULTIPART_CONTENT}


def _json(body):
    import json

    return json.dumps(body)


def _qs(query):
    from urllib.parse import urlencode

    return urlencode(query, doseq=True)


def version_of(op) -> dict:
    for param in op.params:
        if param.location == "header" and param.name == "Version":
            return {"HTTP_VERSION": schemas.sample_valid(param.schema)}
    return {}


def assert_upload_round_trip(client, op, response):
    """The answer says where the file went; fetching that gives back the very bytes sent."""
    payload = response.json() if response.content else {}
    urls = (
        [payload["url"]]
        if "url" in payload
        else list((payload.get("uploadedFiles") or {}).values())
        or [(payload.get("results") or {}).get("url")]
    )
    assert urls and all(urls), (op.key, payload)
    for url in urls:
        served = client.get(urlsplit(url).path)
        assert served.status_code == 200, (op.key, url)
        assert served.content == UPLOAD[1] and served["Content-Type"].startswith(UPLOAD[2])


def assert_error_shape(op, response, statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    body = response.json()
    assert body["statusCode"] == response.status_code
    assert isinstance(body["message"], (str, list)) and body["message"]
    assert isinstance(body["error"], str) and body["error"]
    schema = op.responses.get(response.status_code)
    if schema:
        assert schemas.oas_is_valid(schema, body), schemas.errors(schema, body)


@pytest.mark.parametrize("key", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_answers_as_the_spec_says(key, client, world):
    op = registry_get().by_key[key]
    ids = path_values(op)
    path = fill_path(op, ids)
    ids = {**ids, "contactId": ids.get("contactId") or _resource("contact")}
    ids.setdefault("conversationId", _resource("conversation"))
    query = accepted_query(op, ids)
    ctype, body = accepted_body(op, ids)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(op, world)}"}

    headers = {**version_of(op), **auth}
    judged = oracle_request(op=op, path=path, query=query, headers=headers, ctype=ctype, body=body)
    # openapi-core cannot judge multipart bodies; the defect lists above it cannot judge at all.
    if ctype != "multipart/form-data" and op.key not in REQUESTS_UNJUDGEABLE:
        assert request_errors(op, judged) == [], "openapi-core says the spec rejects this request"
    response = send(client, op, path=path, query=query, ctype=ctype, body=body, headers=headers)
    if op.key == ("POST", "/oauth/locationToken"):
        # The company token asks for a location of its own company: HighLevel grants it.
        assert response.status_code in (200, 201), response.content[:300]
        granted = response.json()
        assert granted["locationId"] == LOCATION and granted["access_token"]
        schema = op.responses.get(response.status_code)
        if schema:
            assert schemas.oas_is_valid(schema, granted), schemas.errors(schema, granted)
        return
    if op.key in DELEGATED:
        # The token endpoint is sandbox.access's: a spec-made-up client id is refused there,
        # in HighLevel's shape (their own tests cover the grants).
        assert 400 <= response.status_code < 500, response.content[:300]
        assert response.json()
        return
    assert 200 <= response.status_code < 300, (response.status_code, response.content[:400])
    if ctype == "multipart/form-data":
        assert_upload_round_trip(client, op, response)
        bodiless = send(
            client, op, path=path, query=query, ctype=ctype, body=body, headers=headers, upload=None
        )
        assert_error_shape(op, bodiless, {400, 422})
    schema = op.responses.get(response.status_code)
    if schema:
        payload = response.json()
        assert schemas.oas_is_valid(schema, payload), schemas.errors(schema, payload)[:5]
        if op.key not in ANSWERS_UNJUDGEABLE:
            assert response_errors(op, judged, response) == []

    # Requests the spec rejects, as openapi-core agrees, get HighLevel's error shape.
    def rejected(*, query=query, body=body, headers=headers, statuses=(400, 422)):
        if op.key not in REQUESTS_UNJUDGEABLE and ctype != "multipart/form-data":
            judged = oracle_request(
                op=op, path=path, query=query, headers=headers, ctype=ctype, body=body
            )
            assert request_errors(op, judged), "openapi-core says the spec accepts this request"
        answer = send(client, op, path=path, query=query, ctype=ctype, body=body, headers=headers)
        assert_error_shape(op, answer, set(statuses))

    if version_of(op):  # no Version header
        rejected(headers=auth, statuses=(400,))
    if ctype == "application/json" and op.body_schemas[ctype].get("type") == "object":
        rejected(body=[1])  # not an object
    required = [p.name for p in op.params if p.location == "query" and p.required]
    if required:  # a required query parameter left out
        rejected(query={k: v for k, v in query.items() if k != required[0]})
    numeric = [
        p.name
        for p in op.params
        if p.location == "query" and p.schema.get("type") in ("number", "integer")
    ]
    if numeric:  # a number parameter that is not a number
        rejected(query={**query, numeric[0]: "not-a-number"})
