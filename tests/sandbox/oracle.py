"""openapi-core as the contract test's independent judge of what the spec accepts.

The sandbox validates with its own resolver and compiled validators; the contract test asks
openapi-core (loaded with ``Config(spec_validator_cls=None)``, the specs are not strictly valid)
whether each request it sends is one the spec accepts or rejects, and whether each answer is one
the spec allows.
"""

import json
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlencode

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from sandbox.spec.resolve import SPEC_DIR

HOST = "https://services.leadconnectorhq.com"


@cache
def oracle(spec_file: str) -> OpenAPI:
    return OpenAPI.from_file_path(
        str(SPEC_DIR / "apps" / spec_file), config=Config(spec_validator_cls=None)
    )


@dataclass
class OracleRequest:
    method: str
    path: str
    parameters: RequestParameters
    body: bytes | None = None
    content_type: str = "application/json"
    host_url: str = HOST


@dataclass
class OracleResponse:
    status_code: int
    data: bytes
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)


def oracle_request(*, op, path, query, headers, ctype, body) -> OracleRequest:
    header = Headers(
        {k[5:].replace("_", "-").title(): v for k, v in headers.items() if k.startswith("HTTP_")}
    )
    data = None
    if ctype == "application/json":
        data = json.dumps(body).encode()
    elif ctype == "application/x-www-form-urlencoded":
        data = urlencode(body or {}).encode()
    query_pairs = [
        (k, str(x)) for k, v in query.items() for x in (v if isinstance(v, list) else [v])
    ]
    return OracleRequest(
        method=op.method.lower(),
        path=path,
        parameters=RequestParameters(query=ImmutableMultiDict(query_pairs), header=header),
        body=data,
        content_type=ctype or "application/json",
    )


def request_errors(op, request: OracleRequest) -> list:
    """What openapi-core refuses in the request, leaving out the defaults it fills in for
    parameters that were not sent (DEFECTS.md: defaults that contradict their own type)."""
    errors = oracle(op.spec_file).unmarshal_request(request).errors
    sent = set(request.parameters.query) | {h.lower() for h in request.parameters.header.keys()}
    return [
        e
        for e in errors
        if not (
            type(e).__name__ == "InvalidParameter" and e.location == "query" and e.name not in sent
        )
    ]


def response_errors(op, request: OracleRequest, response) -> list:
    answer = OracleResponse(
        status_code=response.status_code,
        data=response.content,
        content_type=response.get("Content-Type", "application/json").split(";")[0],
    )
    return oracle(op.spec_file).unmarshal_response(request, answer).errors
