"""Validate an incoming request against its operation, the way HighLevel's NestJS pipes answer.

Header problems (``Version``) are 400s; parameter and body problems are 422s with a list of
messages where the operation documents 422, else 400s. Query strings are coerced to the types the
spec declares before validation (``limit=20`` is a number).
"""

import json
from dataclasses import dataclass, field

from sandbox.mode import sandbox_lenient
from sandbox.spec import schemas
from sandbox.spec.registry import Operation

SKIPPED_HEADERS = {"authorization"}  # the gate answers for these (401), not the validator
# HighLevel's newer clients send `Version: v3`, which its servers take wherever the spec lists a
# date: accepted in lenient mode only (sandbox/mode.py).
VERSION_ALIASES = {"v3"}


class RequestInvalid(Exception):
    def __init__(self, status: int, messages: list[str]):
        super().__init__("; ".join(messages))
        self.status = status
        self.messages = messages


@dataclass
class ValidRequest:
    path: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    body: object = None


def _coerce(raw: str, schema: dict):
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            number = float(raw)
            return int(number) if number.is_integer() and "." not in raw else number
    except ValueError:
        return raw  # left as text so the schema check reports it
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def _query_value(querydict, param):
    schema = param.schema
    if schema.get("type") == "array":
        values = querydict.getlist(param.name) or querydict.getlist(param.name + "[]")
        if len(values) == 1 and "," in values[0]:
            values = values[0].split(",")
        return [_coerce(v, schema.get("items", {})) for v in values]
    return _coerce(querydict.get(param.name), schema)


def _body(request, op: Operation):
    ctype = (request.content_type or "").split(";")[0].strip().lower()
    raw = request.body
    if not op.body_schemas:
        return None
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        if ctype not in op.body_schemas:  # a form sent to a JSON operation: no JSON body at all
            return "application/json", None
        props = (op.body_schemas.get(ctype) or {}).get("properties") or {}
        data = {
            k: request.POST.getlist(k)
            if props.get(k, {}).get("type") == "array"
            else request.POST.get(k)
            for k in request.POST
        }
        data.update({k: f.name for k, f in request.FILES.items()})
        return ctype, data
    if not raw.strip():
        return "application/json", None
    try:
        return "application/json", json.loads(raw)
    except ValueError as exc:
        raise RequestInvalid(
            400, [f"Unexpected token in JSON at position {getattr(exc, 'pos', 0)}"]
        ) from exc


def request_validate(*, request, op: Operation, path_params: dict) -> ValidRequest:
    """The parsed request, or ``RequestInvalid`` with HighLevel's status and messages."""
    bad_status = 422 if 422 in op.responses else 400
    out = ValidRequest(path=dict(path_params))
    problems = []
    for param in op.params:
        if param.location == "header":
            if param.name.lower() in SKIPPED_HEADERS:
                continue
            value = request.headers.get(param.name)
            if value is None:
                if param.required:
                    raise RequestInvalid(400, [f"{param.name} header was not found"])
                continue
            if param.name == "Version" and value in VERSION_ALIASES and sandbox_lenient():
                continue
            if not schemas.is_valid(param.schema, value):
                raise RequestInvalid(400, [f"{param.name} header is invalid"])
        elif param.location == "query":
            if param.name not in request.GET and param.name + "[]" not in request.GET:
                if param.required:
                    problems.append(f"{param.name} should not be empty")
                continue
            value = _query_value(request.GET, param)
            problems += schemas.errors(param.schema, value, prefix=param.name)
            out.query[param.name] = value
        elif param.location == "path":
            value = path_params.get(param.name, "")
            problems += schemas.errors(param.schema, value, prefix=param.name)
    parsed = _body(request, op)
    if parsed is not None:
        ctype, body = parsed
        schema = op.body_schemas.get(ctype) or next(iter(op.body_schemas.values()))
        if body is None:
            if op.body_required:
                body = {}
        if body is not None:
            if ctype == "application/json":
                problems += schemas.errors(schema, body)
            else:
                problems += [
                    f"{name} should not be empty"
                    for name in schema.get("required", [])
                    if name not in body
                ]
        out.body = body
    if problems:
        raise RequestInvalid(bad_status, problems)
    # Query and path values are part of what handlers read; fill declared defaults.
    for param in op.params:
        if param.location == "query" and param.name not in out.query and "default" in param.schema:
            out.query[param.name] = param.schema["default"]
    return out
