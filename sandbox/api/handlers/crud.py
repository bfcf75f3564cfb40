"""Generic handlers for a stored kind: create, get, update, delete, list.

The answer's shape comes from the operation's response schema: the resource goes under the
property named like the kind (``{"task": {...}}``) or a configured ``key``, or is the body itself
when the schema describes the resource directly (has ``id``); lists go under the first array
property. Flags like ``succeded``/``success`` are set true. ``fit`` then makes the answer valid.
"""

from dataclasses import dataclass, field

from sandbox.api.context import Call, Reply
from sandbox.api.handlers.paging import next_page_meta, page_rows, page_window
from sandbox.errors import not_found
from sandbox.state import events, store

FLAGS = ("succeded", "success", "succeeded", "deleted")
# Query parameters that filter a listing by the stored field of that name (HighLevel mixes
# camelCase and snake_case: GET /opportunities/search takes pipeline_id, contact_id, ...).
FILTERS = {
    name: name
    for name in (
        "calendarId",
        "groupId",
        "userId",
        "contactId",
        "pipelineId",
        "status",
        "assignedTo",
        "role",
        "model",
        "blogId",
    )
}
FILTERS.update(
    pipeline_id="pipelineId",
    pipeline_stage_id="pipelineStageId",
    contact_id="contactId",
    assigned_to="assignedTo",
)
COUNTS = ("count", "total", "totalCount")


def success_schema(op) -> dict:
    return op.responses.get(op.success_status) or {}


def flags_for(op) -> dict:
    props = success_schema(op).get("properties", {})
    return {name: True for name in FLAGS if props.get(name, {}).get("type") == "boolean"}


def wrap_one(op, obj: dict, *, kind: str, key: str | None = None) -> dict:
    props = success_schema(op).get("properties", {})
    body = flags_for(op)
    key = key or next((k for k in (kind, kind + "s") if k in props), None)
    if key is None and ("id" in props or "_id" in props or not props):
        return {**obj, **body}
    if key is None:
        key = next(
            (k for k, s in props.items() if s.get("type") == "object" or "properties" in s), None
        )
    if key is None:
        return {**obj, **body}
    body[key] = obj
    return body


def wrap_many(op, objs: list, *, total: int, key: str | None = None) -> dict:
    props = success_schema(op).get("properties", {})
    key = key or next((k for k, s in props.items() if s.get("type") == "array"), "items")
    body = {key: objs}
    for name in COUNTS:
        if name in props:
            body[name] = total
    return body


@dataclass
class Crud:
    """One generic action on one kind; the ROUTES table instantiates these."""

    action: str  # create | get | update | delete | list
    kind: str
    id_param: str | None = None  # path parameter naming the resource
    parent_param: str | None = None  # path parameter naming the owning resource
    parent_kind: str = "contact"
    key: str | None = None  # response property holding the resource(s)
    events: dict = field(default_factory=dict)  # action -> webhook event type
    location_param: str | None = None  # path parameter that is the location id

    def __call__(self, call: Call) -> Reply:
        return getattr(self, "_" + self.action)(call)

    def _parent_id(self, call: Call) -> str:
        if not self.parent_param:
            return ""
        parent_id = call.path(self.parent_param)
        parent = store.resource_get(kind=self.parent_kind, resource_id=parent_id)
        if parent is None:
            raise not_found(op=call.op, what=self.parent_kind.capitalize())
        call.check_location(parent.location_id)
        return parent_id

    def load(self, call: Call):
        parent_id = self._parent_id(call)
        res = store.resource_get(kind=self.kind, resource_id=call.path(self.id_param))
        if res is None or (parent_id and res.parent_id != parent_id):
            raise not_found(op=call.op, what=self.kind.capitalize())
        call.check_location(res.location_id)
        return res

    def _emit(self, action: str, res) -> None:
        if action in self.events:
            events.event_emit(
                event_type=self.events[action], location_id=res.location_id, data=res.data
            )

    def _create(self, call: Call) -> Reply:
        parent_id = self._parent_id(call)
        data = dict(call.body)
        if self.parent_param:
            data.setdefault(self.parent_param, parent_id)
        location_id = (
            call.location_id
            or data.get("locationId")
            or next(iter(data.get("locationIds") or []), "")
        )  # users name their locations in a list
        res = store.resource_create(
            kind=self.kind,
            location_id=location_id,
            data=data,
            parent_id=parent_id,
            company_id=call.company_id,
        )
        self._emit("create", res)
        return Reply(wrap_one(call.op, res.data, kind=self.kind, key=self.key))

    def _get(self, call: Call) -> Reply:
        res = self.load(call)
        return Reply(wrap_one(call.op, res.data, kind=self.kind, key=self.key))

    def _update(self, call: Call) -> Reply:
        res = self.load(call)
        before = dict(res.data)
        res = store.resource_update(res=res, changes=call.body)
        self._emit("update", res)
        events.changes_emit(
            kind=self.kind, before=before, after=res.data, location_id=res.location_id
        )
        return Reply(wrap_one(call.op, res.data, kind=self.kind, key=self.key))

    def _delete(self, call: Call) -> Reply:
        res = self.load(call)
        store.resource_delete(res=res)
        self._emit("delete", res)
        return Reply({**flags_for(call.op), "id": res.resource_id})

    def _list(self, call: Call) -> Reply:
        parent_id = self._parent_id(call) if self.parent_param else None
        qs = store.resources_query(
            kind=self.kind, location_id=call.location_id or None, parent_id=parent_id
        )
        if not call.location_id and call.company_id:  # an agency token lists its company's
            qs = qs.filter(company_id=call.company_id)
        for name, value in call.query.items():
            field = FILTERS.get(name)
            if field and value not in (None, ""):
                qs = qs.filter(**{f"data__{field}": value})
        window = page_window(call)
        rows, more = page_rows(qs, window)
        total = len(rows) if window.whole(more=more) else qs.count()
        body = wrap_many(call.op, [r.data for r in rows], total=total, key=self.key)
        meta_schema = success_schema(call.op).get("properties", {}).get("meta")
        if meta_schema is not None:
            meta = next_page_meta(call=call, rows=rows, more=more, total=total)
            # A value the schema does not let be null is left out, not answered with the
            # spec's example (an example cursor on the last page would never end the paging).
            props = meta_schema.get("properties") or {}
            body["meta"] = {
                k: v
                for k, v in meta.items()
                if v is not None or k not in props or props[k].get("nullable")
            }
        return Reply(body)
