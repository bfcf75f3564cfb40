"""Users in the documented shape (users.json ``UserSuccessfulResponseDto``/``UserSchema``).

HighLevel takes ``type``, ``role``, ``locationIds`` and ``restrictSubAccount`` flat in the create
and update bodies but answers them nested in a ``roles`` object (``RoleSchema``), and it never
answers a password: the sandbox keeps none (a user's password is HighLevel's own business).
"""

from sandbox.api.context import Call, Reply
from sandbox.api.handlers.crud import Crud, wrap_one
from sandbox.state import events, store

ROLE_FIELDS = ("type", "role", "locationIds", "restrictSubAccount")
NEVER_STORED = ("password",)


def user_data(body: dict, current: dict | None = None) -> dict:
    """Stored user fields from a create/update body, merged into ``current``."""
    data = dict(current or {})
    roles = dict(data.get("roles") or {})
    for name, value in body.items():
        if name in NEVER_STORED or name == "id":
            continue
        if name in ROLE_FIELDS:
            roles[name] = value
        elif name == "roles" and isinstance(value, dict):
            roles.update(value)
        else:
            data[name] = value
    if roles:
        data["roles"] = roles
    for name in ROLE_FIELDS + NEVER_STORED:
        data.pop(name, None)
    data["name"] = " ".join(p for p in (data.get("firstName"), data.get("lastName")) if p)
    return data


def user_public(data: dict) -> dict:
    """What HighLevel answers for a stored user: everything but a password."""
    return {k: v for k, v in data.items() if k not in NEVER_STORED}


def user_event_extra(data: dict) -> dict:
    """UserCreate.md's flat fields: ``role``, ``type`` (the user's), ``locations``."""
    roles = data.get("roles") or {}
    return {"role": roles.get("role", ""), "locations": list(roles.get("locationIds") or [])}


def user_create(call: Call) -> Reply:
    data = user_data(call.body)
    location_id = call.location_id or next(iter(data.get("roles", {}).get("locationIds") or []), "")
    res = store.resource_create(
        kind="user", location_id=location_id, data=data, company_id=call.company_id
    )
    events.event_emit(
        event_type="UserCreate",
        location_id=res.location_id,
        data=res.data,
        extra=user_event_extra(res.data),
    )
    return Reply(wrap_one(call.op, user_public(res.data), kind="user"))


def user_update(call: Call) -> Reply:
    res = Crud("get", "user", id_param="userId").load(call)
    res.data = user_data(call.body, res.data)
    res = store.resource_update(res=res, changes={})
    return Reply(wrap_one(call.op, user_public(res.data), kind="user"))


def user_get(call: Call) -> Reply:
    res = Crud("get", "user", id_param="userId").load(call)
    return Reply(wrap_one(call.op, user_public(res.data), kind="user"))
