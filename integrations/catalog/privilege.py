"""Least privilege for operations: which class each catalog operation is in, and the permission
sending it needs.

Agency staff (``integrations.change_connection``) send the read operations and the ones the flows
need. Every other class needs its own permission, which no role holds: a superuser grants it
(``Connection``'s ``send_*_operations`` permissions). Deletes also ask to confirm.

The class is derived from the spec (method, scopes, spec file, token type) and corrected by the
reviewed table in :mod:`integrations.catalog.privilege_table`.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any

from integrations.catalog.privilege_table import REVIEWED


@dataclass(frozen=True)
class Privilege:
    key: str
    label: str
    permission: str = ""  # "" = the permission to send at all is enough
    destructive: bool = False


PRIVILEGES = {
    p.key: p
    for p in (
        Privilege("read", "read"),
        Privilege("flow", "used by the flows"),
        Privilege("write", "other write", "integrations.send_write_operations"),
        Privilege("users", "users and roles", "integrations.send_users_operations"),
        Privilege("messaging", "messaging", "integrations.send_messaging_operations"),
        Privilege("payments", "payments", "integrations.send_payments_operations"),
        Privilege("agency_write", "agency-level write", "integrations.send_agency_operations"),
        Privilege("delete", "delete", "integrations.send_delete_operations", destructive=True),
    )
}
SEND_PERMISSION = "integrations.change_connection"

_USERS = {"users.json"}
_MESSAGING = {
    "conversations.json",
    "emails.json",
    "campaigns.json",
    "phone-system.json",
    "social-media-posting.json",
}
_PAYMENTS = {"payments.json", "invoices.json", "store.json", "products.json"}
_AGENCY = {"saas-api.json", "companies.json", "snapshots.json", "oauth.json", "marketplace.json"}


@cache
def _flow_operations() -> frozenset[str]:
    """The operations the flow templates and the outbound request shapes use."""
    from mappings.entities import FLOW_TEMPLATES, REQUEST_SHAPES

    keys = {t.operation_key for t in FLOW_TEMPLATES.values()} | set(REQUEST_SHAPES)
    return frozenset(keys)


def _derived(operation: Any) -> str:
    if operation.method == "DELETE":
        return "delete"
    reads_only = bool(operation.scopes) and all(s.endswith(".readonly") for s in operation.scopes)
    if operation.method == "GET" or (operation.method == "POST" and reads_only):
        return "read"
    if operation.key in _flow_operations():
        return "flow"
    source = operation.source
    if source in _USERS:
        return "users"
    if source in _MESSAGING:
        return "messaging"
    if source in _PAYMENTS:
        return "payments"
    if source in _AGENCY or operation.access in ("agency", "none"):
        return "agency_write"
    return "write"


def operation_privilege(operation: Any) -> Privilege:
    """The class ``operation`` is in: the reviewed table's, else the one derived from the spec."""
    reviewed = REVIEWED.get(operation.key)
    return PRIVILEGES[reviewed[0] if reviewed else _derived(operation)]


def operation_send_refusal(*, user: Any, operation: Any) -> str:
    """Why ``user`` may not send ``operation`` ("" when they may)."""
    if not user.has_perm(SEND_PERMISSION):
        return "You may dry-run operations but not send them."
    privilege = operation_privilege(operation)
    if privilege.permission and not user.has_perm(privilege.permission):
        return (
            f"{operation.key} is a {privilege.label} operation: sending it needs the permission "
            f"“{privilege.permission}”, which a superuser grants. You may still dry-run it."
        )
    return ""
