"""Requests built from the spec alone: starting values for forms and for contract tests."""

from typing import Any

from integrations.catalog.calls import connection_supplied, schema_errors
from integrations.catalog.registry import Operation


def schema_example(schema: object, *, depth: int = 0) -> Any:
    """A value the schema accepts: its own example when valid, else built from the required parts.

    The specs' examples sometimes contradict their schemas (an example string for an object), so
    an example is only used after it validates.
    """
    if depth > 12 or not isinstance(schema, dict):
        return None
    if "example" in schema and not schema_errors(schema, schema["example"]):
        return schema["example"]
    for combinator in ("oneOf", "anyOf", "allOf"):
        if schema.get(combinator):
            return schema_example(schema[combinator][0], depth=depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {
            name: schema_example(props.get(name, {}), depth=depth + 1)
            for name in schema.get("required") or []
        }
    if kind == "array":
        item = schema_example(schema.get("items") or {}, depth=depth + 1)
        return [item] * int(schema.get("minItems") or 0)
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    return "x" * int(schema.get("minLength") or 1) if kind == "string" else ""


def request_example(operation: Operation) -> tuple[dict[str, Any], Any]:
    """``(params, body)`` for ``operation`` from its schemas: every required part, spec-valid.

    Parameters the connection supplies (locationId, altId, ...) are left to ``call_prepare``.
    """
    supplied = connection_supplied(operation)
    params = {
        p.name: schema_example(p.schema)
        for p in operation.form_params
        if p.required and not (p.name in supplied and p.location != "header")
    }
    for param in operation.form_params:  # an empty list would vanish from the query string
        if (
            param.name in params
            and params[param.name] == []
            and isinstance(param.schema.get("items"), dict)
        ):
            params[param.name] = [schema_example(param.schema["items"])]
    body = schema_example(operation.body_schema) if operation.body_schema is not None else None
    if isinstance(body, dict):
        body = {name: value for name, value in body.items() if name not in supplied}
    return params, body
