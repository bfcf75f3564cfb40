"""Create, read, change and list stored resources (``sandbox.models.Resource``)."""

import secrets
import string
from datetime import UTC, datetime

from sandbox.models import Resource

_ALPHABET = string.ascii_letters + string.digits


def new_id() -> str:
    """A 20-character id shaped like HighLevel's (``ve9EPM428h8vShlRW1KT``)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(20))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def phone_digits(phone) -> str:
    return "".join(ch for ch in str(phone or "") if ch.isdigit() or ch == "+")


def _index_columns(data: dict) -> dict:
    tags = data.get("tags") if isinstance(data.get("tags"), list) else []
    return {
        "email": str(data.get("email") or "").lower()[:254],
        "phone": phone_digits(data.get("phone"))[:40],
        "tags": "|" + "|".join(str(t).lower() for t in tags) + "|" if tags else "",
    }


def resource_build(
    *,
    kind: str,
    location_id: str,
    data: dict,
    parent_id: str = "",
    company_id: str = "",
    resource_id: str | None = None,
) -> Resource:
    """An unsaved resource with id and timestamps filled in ``data`` (for bulk_create too)."""
    resource_id = resource_id or data.get("id") or new_id()
    stamp = now_iso()
    data = {"id": resource_id, **data}
    data["id"] = resource_id
    if location_id:
        data.setdefault("locationId", location_id)
    data.setdefault("dateAdded", stamp)
    data.setdefault("dateUpdated", stamp)
    return Resource(
        kind=kind,
        location_id=location_id or "",
        company_id=company_id or "",
        resource_id=resource_id,
        parent_id=parent_id or "",
        data=data,
        **_index_columns(data),
    )


def resource_create(**kwargs) -> Resource:
    res = resource_build(**kwargs)
    res.save()
    return res


def resource_get(*, kind: str, resource_id: str) -> Resource | None:
    return Resource.objects.filter(kind=kind, resource_id=resource_id, deleted=False).first()


def resource_update(*, res: Resource, changes: dict) -> Resource:
    data = dict(res.data)
    data.update({k: v for k, v in changes.items() if k != "id"})
    data["dateUpdated"] = now_iso()
    res.data = data
    for name, value in _index_columns(data).items():
        setattr(res, name, value)
    res.save()
    return res


def resource_delete(*, res: Resource) -> None:
    res.deleted = True
    res.save(update_fields=["deleted", "updated_at"])


def resources_query(*, kind: str, location_id: str | None = None, parent_id: str | None = None):
    qs = Resource.objects.filter(kind=kind, deleted=False)
    if location_id:
        qs = qs.filter(location_id=location_id)
    if parent_id is not None:
        qs = qs.filter(parent_id=parent_id)
    return qs.order_by("seq")
