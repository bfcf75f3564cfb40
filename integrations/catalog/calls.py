"""Turning (operation, parameters, body, connection) into the exact request, validated by the spec.

Nothing here sends anything: the dry run shows a :class:`PreparedCall`, and ``operation_run``
hands the same object to the HTTP door. Validation uses the operation's own schemas (OpenAPI 3.0
flavour, so ``nullable`` is honoured) and reports errors per field:
``{"contactId": [...], "body": [...], "body.email": [...]}``.
"""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from openapi_schema_validator import OAS30Validator

from integrations.catalog.connections import ConnectionInfo
from integrations.catalog.registry import AGENCY, EITHER, LOCATION, NO_TOKEN, Operation
from integrations.catalog.spec_files import SpecDoc
from integrations.ghl.paths import DOT_SEGMENTS, path_matches_template
from integrations.ghl.uploads import UploadFile
from portal.errors import PortalError

DEFAULT_VERSION = "2021-07-28"
JSON = "application/json"

FieldErrors = dict[str, list[str]]  # field name ("body", "body.email", a parameter) -> messages


class OperationInvalid(PortalError):
    """The request does not satisfy the spec; ``errors`` maps field names to messages."""

    def __init__(self, errors: FieldErrors) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


class OperationRefused(PortalError):
    """The connection cannot run this operation (missing scope, wrong token type)."""

    def __init__(self, message: str, *, missing_scopes: Iterable[str] = ()) -> None:
        self.missing_scopes = tuple(missing_scopes)
        super().__init__(message)


@dataclass(frozen=True)
class PreparedCall:
    operation: str  # registry key
    method: str
    path: str  # with path parameters filled in
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(
        default_factory=dict
    )  # besides Authorization, which the door adds
    json: Any = None
    data: dict[str, Any] | None = None
    content_type: str = ""
    files: dict[str, UploadFile] = field(default_factory=dict)  # multipart/form-data file parts

    @property
    def target(self) -> str:
        return self.path + (f"?{urlencode(self.query, doseq=True)}" if self.query else "")

    def as_text(self) -> str:
        """The request as HTTP text, the token masked (the door adds it)."""
        lines = [f"{self.method} {self.target}", "Authorization: Bearer ••••••"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        if self.content_type:
            lines.append(f"Content-Type: {self.content_type}")
        if self.json is not None:
            lines += ["", json.dumps(self.json, indent=2, sort_keys=True)]
        elif self.data and not self.files:
            lines += ["", urlencode(self.data, doseq=True)]
        parts: dict[str, Any] = {**(self.data or {} if self.files else {}), **self.files}
        for name, value in parts.items():
            lines.append(
                f"  part {name}: {value!r}" if name in self.files else f"  part {name}: {value}"
            )
        return "\n".join(lines)


def scopes_missing(*, operation: Operation, granted: Iterable[str]) -> list[str]:
    """The operation's scopes when none is granted (any one suffices), else []."""
    if set(operation.scopes) & set(granted):
        return []
    return list(operation.scopes)


def call_refusal(*, operation: Operation, connection: ConnectionInfo) -> OperationRefused | None:
    """Why ``connection`` may not run ``operation`` (scopes first), or None."""
    missing = scopes_missing(operation=operation, granted=connection.granted_scopes)
    if missing:
        return OperationRefused(
            f"Connection {connection.label} lacks the scope{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} that {operation.key} requires: reconnect it with "
            f"{'them' if len(missing) > 1 else 'it'} granted.",
            missing_scopes=missing,
        )
    if operation.access not in (EITHER, NO_TOKEN) and operation.access != connection.access:
        needed = "an agency" if operation.access == AGENCY else "a location"
        return OperationRefused(
            f"{operation.key} needs {needed} token; connection {connection.label} holds "
            f"{'an agency' if connection.access == AGENCY else 'a location'} token."
        )
    return None


def connection_values(connection: ConnectionInfo | None) -> dict[str, Any]:
    """Parameter values a connection supplies (its location or company)."""
    if connection is None:
        return {}
    values: dict[str, Any] = {"companyId": connection.company_id} if connection.company_id else {}
    if connection.access == LOCATION and connection.location_id:
        values.update(
            locationId=connection.location_id,
            location_id=connection.location_id,
            altId=connection.location_id,
            altType="location",
            locationIds=[connection.location_id],
        )
    elif connection.company_id:
        values.update(altId=connection.company_id, altType="company")
    return values


def connection_supplied(operation: Operation) -> set[str]:
    """Names a connection of the operation's kind fills in (so an example leaves them out)."""
    names = {"companyId", "altId", "altType"}
    if operation.access != AGENCY:
        names |= {"locationId", "location_id", "locationIds"}
    if has_alt_type(operation):
        return names
    return names - {"altType"} if alt_id_names_location(operation) else names - {"altId", "altType"}


def has_alt_type(operation: Operation) -> bool:
    props = (operation.body_schema or {}).get("properties") or {}
    return "altType" in props or any(p.name == "altType" for p in operation.form_params)


def alt_id_names_location(operation: Operation) -> bool:
    """altId is the location (or agency) also where the spec gives no altType beside it (e.g.
    List Orders), except in conversations, where altId is a message provider's own id."""
    if has_alt_type(operation):
        return True
    declared = any(p.name == "altId" for p in operation.form_params)
    return declared and not operation.path.startswith("/conversations")


def authority_conflict(*, name: str, value: object, filled: Mapping[str, Any]) -> str | None:
    """Why ``value`` may not stand for ``name``, a value the connection decides; None if it may.

    A connection acts for one location (or agency): its locationId, altId, altType and companyId
    are authoritative, so a run, a subscription or a mapping can never aim it at another one.
    """
    if value in (None, "") or str(value) == str(filled[name]):
        return None
    return (
        f"This connection acts for {filled[name]!r} only; {name}={value!r} would aim it at "
        f"another {'location' if name != 'companyId' else 'agency'}. Leave {name} empty: the "
        "connection fills it in."
    )


def body_conflicts(*, body: object, filled: Mapping[str, Any]) -> FieldErrors:
    """Field errors for body properties that name another location or agency than ``connection``'s."""
    if not isinstance(body, dict):
        return {}
    errors: FieldErrors = {}
    for name, value in body.items():
        if name in filled and name != "locationIds":
            conflict = authority_conflict(name=name, value=value, filled=filled)
            if conflict:
                errors[f"body.{name}"] = [conflict]
    own = filled.get("locationId")
    others = body.get("locationIds")
    if own and isinstance(others, list) and any(str(v) != own for v in others):
        errors["body.locationIds"] = [
            f"This connection acts for location {own!r} only; locationIds may hold only it."
        ]
    return errors


def call_prepare(
    *,
    operation: Operation,
    params: Mapping[str, Any] | None = None,
    body: Any = None,
    connection: ConnectionInfo | None = None,
) -> PreparedCall:
    """The validated request for ``operation``; raises OperationInvalid with every field error."""
    params = {k: v for k, v in (params or {}).items() if v not in (None, "")}
    filled = connection_values(connection)
    if not has_alt_type(operation):  # no altType to send; altId may still name the location
        dropped = ("altType",) if alt_id_names_location(operation) else ("altId", "altType")
        filled = {k: v for k, v in filled.items() if k not in dropped}
    errors: FieldErrors = {}
    values: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}}
    for param in operation.form_params:
        value = params.pop(param.name, None)
        if param.name in filled and param.location != "header":
            conflict = authority_conflict(name=param.name, value=value, filled=filled)
            if conflict:
                errors.setdefault(param.name, []).append(conflict)
                continue
            value = filled[param.name]
        if value is None:
            if param.required:
                errors.setdefault(param.name, []).append("This parameter is required.")
            continue
        value = param_coerce(value, param.schema)
        messages = schema_errors(param.schema, value)
        if messages:
            errors[param.name] = [m for _, m in messages]
        values[param.location][param.name] = (
            query_text(value) if param.location == "query" else value
        )
    for unknown in params:
        errors.setdefault(unknown, []).append(f"{operation.key} has no parameter {unknown!r}.")
    errors.update(body_conflicts(body=body, filled=filled))
    body = body_fill(operation=operation, body=body, filled=filled)
    body, files = files_split(operation=operation, body=body)
    errors.update(body_errors(operation=operation, body=body, files=files))
    if errors:
        raise OperationInvalid(errors)
    for name, value in values["path"].items():
        if str(value) in DOT_SEGMENTS:
            errors.setdefault(name, []).append(
                f"{str(value)!r} is not an id: a path parameter cannot be '.' or '..'."
            )
    if errors:
        raise OperationInvalid(errors)
    path = operation.path
    for name, value in values["path"].items():
        # Every reserved character encoded ('/', '?', '#', '%', ...): a value fills one segment.
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    if not path_matches_template(template=operation.path, path=path):
        raise OperationInvalid({"path": [f"{path!r} does not match {operation.path!r}."]})
    headers = {"Version": operation.version or DEFAULT_VERSION, **values["header"]}
    is_json = operation.body_content_type == JSON
    return PreparedCall(
        operation=operation.key,
        method=operation.method,
        path=path,
        query=values["query"],
        headers=headers,
        json=body if is_json and body is not None else None,
        data=body if operation.body_content_type and not is_json and body is not None else None,
        content_type=operation.body_content_type if body is not None or files else "",
        files=files,
    )


MULTIPART = "multipart/form-data"


def files_split(*, operation: Operation, body: Any) -> tuple[Any, dict[str, UploadFile]]:
    """(the body's other fields, its :class:`UploadFile` values) for a multipart operation."""
    if not isinstance(body, dict):
        return body, {}
    files = {k: v for k, v in body.items() if isinstance(v, UploadFile)}
    if files and operation.body_content_type != MULTIPART:
        return body, {}  # body_errors names them: only multipart operations take files
    return {k: v for k, v in body.items() if k not in files}, files


def binary_fields(operation: Operation) -> list[str]:
    """The body properties a multipart operation takes as files (``format: binary``)."""
    if operation.body_content_type != MULTIPART:
        return []
    props = (operation.body_schema or {}).get("properties") or {}
    binary = [n for n, s in props.items() if s.get("format") == "binary"]
    return binary or ["file"]  # no schema (forms.json) or none marked: HighLevel's "file"


def body_fill(*, operation: Operation, body: Any, filled: Mapping[str, Any]) -> Any:
    """Add the connection's ``locationId``/``altId``/``altType`` where the body schema has them."""
    props = (operation.body_schema or {}).get("properties") or {}
    if body is None or not isinstance(body, dict):
        if body is None and operation.body_required and filled and any(k in props for k in filled):
            body = {}
        else:
            return body
    body = dict(body)
    required = set((operation.body_schema or {}).get("required") or [])
    for name, value in filled.items():
        # locationIds only where required: on an update it would replace the user's locations.
        if name in props and name not in body and (name != "locationIds" or name in required):
            body[name] = value
    return body


def body_errors(
    *, operation: Operation, body: Any, files: Mapping[str, UploadFile] | None = None
) -> FieldErrors:
    files = files or {}
    if operation.body_content_type == MULTIPART:
        unknown = sorted(set(files) - set(binary_fields(operation)))
        if unknown:
            return {"body": [f"{', '.join(unknown)}: not a file field of this operation"]}
        hosted = (
            isinstance(body, dict) and body.get("hosted") in (True, "true") and body.get("fileUrl")
        )
        if not files and not hosted:
            return {"body": [f"Choose a file to upload ({', '.join(binary_fields(operation))})."]}
        checked = {**(body or {}), **{k: v.name for k, v in files.items()}}
        return {
            f"body.{where.split('.')[0]}" if where else "body": [message]
            for where, message in schema_errors(operation.body_schema or {}, checked)
        }
    if isinstance(body, dict) and any(isinstance(v, UploadFile) for v in body.values()):
        return {"body": ["Files go only to multipart/form-data operations."]}
    if operation.body_schema is None:
        return {"body": ["This operation takes no body."]} if body not in (None, {}) else {}
    if body is None:
        return {"body": ["A request body is required."]} if operation.body_required else {}
    errors: FieldErrors = {}
    for where, message in schema_errors(operation.body_schema, body):
        name = f"body.{where.split('.')[0].split('[')[0]}" if where else "body"
        errors.setdefault(name, []).append(f"{where}: {message}" if where else message)
    return errors


def response_errors(*, operation: Operation, data: object) -> list[str]:
    """What in a 200/201 answer disagrees with the operation's response schema (``[]`` if none)."""
    if not operation.response_schema:
        return []
    return [
        f"{where}: {message}" if where else message
        for where, message in schema_errors(operation.response_schema, data)
    ]


_validators: dict[int, tuple[SpecDoc, OAS30Validator]] = {}


def _validator(schema: SpecDoc) -> OAS30Validator:
    """One validator per schema object (the registry's schemas live as long as the process; a
    page loop checks every page's body against the same one)."""
    found = _validators.get(id(schema))
    if found is None or found[0] is not schema:
        if len(_validators) >= 1024:  # schemas made on the fly: never more than this many kept
            _validators.clear()
        found = _validators[id(schema)] = (schema, OAS30Validator(schema))
    return found[1]


def schema_errors(schema: SpecDoc, value: object) -> list[tuple[str, str]]:
    """``[(dotted location, message)]`` for ``value`` against an OpenAPI 3.0 schema."""
    validator = _validator(schema)
    found: list[tuple[str, str]] = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        where, message = "", error.message
        path = list(error.absolute_path)
        if error.validator == "required":  # name the missing property itself
            missing = re.match(r"'(.+)' is a required property", error.message)
            if missing:
                path.append(missing.group(1))
                message = "This property is required."
        for part in path:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else part)
        found.append((where, message))
    return found


def query_text(value: Any) -> Any:
    """Booleans as HighLevel reads them in a URL (``true``/``false``, not Python's ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [query_text(v) for v in value]
    return value


def param_coerce(value: Any, schema: SpecDoc) -> Any:
    """Form and query values arrive as text; give them the type the schema declares."""
    kind = schema.get("type")
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # it travels as text in the URL anyway
    if not isinstance(value, str):
        return value
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            number = float(value)
            return int(number) if number.is_integer() else number
    except ValueError:
        return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "array":
        return [part.strip() for part in value.split(",") if part.strip()]
    return value
