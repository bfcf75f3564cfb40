"""Lazy doors to the access engineer's modules (auth, limits, faults; webhooks out).

``sandbox.access`` may be absent while it is being built: then every request passes unauthenticated
and events go nowhere. Any other import error is a real bug and propagates.
"""

import importlib


def module_optional(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            return None
        raise


def gate_module():
    return module_optional("sandbox.access.gate")


def webhooks_module():
    return module_optional("sandbox.access.webhooks")


def event_send(*, location_id: str, event_type: str, payload: dict, company_id: str = "") -> None:
    """Hand an event to the webhook sender inside the change's transaction: the event is recorded
    with the change (or rolled back with it) and ``webhook_emit`` delivers after commit.
    ``company_id`` without ``location_id``: a company-level event (no ``locationId`` in it)."""
    module = webhooks_module()
    if module is not None:
        module.webhook_emit(location_id=location_id, event_type=event_type, payload=payload,
                            company_id=company_id)
