"""How a trigger's request is built: the body HighLevel expects, and "only what changed since".

Each table is keyed by catalog operation ("METHOD /path") and declared by the entity modules
(``requests``, mappings/entities/). A trigger listed in ``INCREMENTAL``
asks HighLevel only for records modified at or after the last pass's high-water mark, so a run over
an unchanged location costs one request; other triggers list everything each run and skip unchanged
records by fingerprint. The mark is inclusive (``gte``): records stamped in the same millisecond as
the mark are fetched again and skipped by fingerprint, rather than missed.
"""

from typing import Any

from integrations.catalog.registry import Operation
from mappings.entities import RegistryView

Params = dict[str, Any]
Body = dict[str, Any] | None

BASE_BODY = RegistryView(
    lambda entities: {
        op: s.base for e in entities.values() for op, s in e.requests.items() if s.base
    }
)
INCREMENTAL = RegistryView(
    lambda entities: {
        op: s.since for e in entities.values() for op, s in e.requests.items() if s.since
    }
)


def request_base(
    *, operation: Operation, parameters: dict[str, Any], location_ghl_id: str
) -> tuple[Params, Body]:
    """``(params, body)`` for a pass's first page from the subscription's parameters.

    Parameters the operation declares (path and query) go to ``params``; the rest go to the body.
    """
    declared = {p.name for p in operation.form_params}
    params = {k: v for k, v in parameters.items() if k in declared}
    extra = {k: v for k, v in parameters.items() if k not in declared}
    base = BASE_BODY.get(operation.key)
    body: Body = None
    if base is not None:
        body = base(location_ghl_id=location_ghl_id)
    if extra or base is not None:
        body = {**(body or {}), **extra}
    return params, body


def request_since(
    *, operation: Operation, params: Params, body: Body, watermark: str | None
) -> tuple[Params, Body] | None:
    """The request narrowed to records changed since ``watermark``, or None if it cannot be."""
    since = INCREMENTAL.get(operation.key)
    if since is None or not watermark:
        return None
    narrowed: tuple[Params, Body] = since(params=params, body=body, watermark=watermark)
    return narrowed
