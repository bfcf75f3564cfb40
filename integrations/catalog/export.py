"""The registry and the named catalog as plain data (for `manage.py catalog --json` and scripts)."""

from dataclasses import asdict
from typing import Any

from integrations.catalog.named import TRIGGER, NamedOperation, named_all
from integrations.catalog.paging import Paging
from integrations.catalog.polling import poll_plan
from integrations.catalog.registry import Operation, operation_get, registry


def paging_dict(paging: Paging) -> dict[str, Any]:
    return {
        "style": paging.style,
        "where": paging.where,
        "cursor_params": list(paging.cursor_params),
        "limit_param": paging.limit_param,
    }


def operation_dict(op: Operation) -> dict[str, Any]:
    return {
        "key": op.key,
        "operation_id": op.operation_id,
        "source": op.source,
        "tag": op.tag,
        "summary": op.summary,
        "method": op.method,
        "path": op.path,
        "scopes": list(op.scopes),
        "access": op.access,
        "version": op.version,
        "deprecated": op.deprecated,
        "retry_safe": op.retry_safe,
        "privilege": op.privilege.key,
        "privilege_permission": op.privilege.permission,
        "paging": paging_dict(op.paging),
        "params": [
            {"name": p.name, "in": p.location, "required": p.required} for p in op.form_params
        ],
        "body": op.body_content_type or None,
    }


def named_dict(named: NamedOperation) -> dict[str, Any]:
    op = operation_get(named.key)
    entry: dict[str, Any] = {
        "name": named.name,
        "category": named.category,
        "kind": named.kind,
        "origin": named.origin,
        "operation": op.key,
        "operation_id": op.operation_id,
        "method": op.method,
        "path": op.path,
        "scopes": list(op.scopes),
        "paging": paging_dict(op.paging),
    }
    if named.kind == TRIGGER:
        plan = asdict(poll_plan(named))
        plan["paging"] = paging_dict(op.paging)
        entry["poll"] = plan
    return entry


def catalog_export() -> dict[str, list[dict[str, Any]]]:
    return {
        "operations": [operation_dict(op) for op in registry().values()],
        "named": [named_dict(named) for named in named_all()],
    }
