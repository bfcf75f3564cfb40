"""POST /contacts/search: HighLevel's filters (field/operator/value, AND/OR groups), sort, and
``page``/``pageLimit`` or ``searchAfter`` paging."""

from django.db.models import Q

from sandbox.api.context import Call, Reply
from sandbox.api.handlers.contacts import KIND, location_of, text_query
from sandbox.api.handlers.paging import page_rows, page_window
from sandbox.errors import ApiError
from sandbox.state import store
from sandbox.state.store import phone_digits

SEARCH_COLUMNS = {"email": "email", "phone": "phone"}


def _filter_q(flt: dict) -> Q:
    if "group" in flt or "filters" in flt:
        inner = flt.get("filters") or []
        if not isinstance(inner, list) or not all(isinstance(f, dict) for f in inner):
            raise ApiError(400, "filters must be a list of objects")
        parts = [_filter_q(f) for f in inner]
        out = Q()
        for part in parts:
            out = (out | part) if str(flt.get("group", "AND")).upper() == "OR" else (out & part)
        return out
    field, op, value = flt.get("field"), flt.get("operator", "eq"), flt.get("value")
    if not isinstance(field, str) or not field:
        raise ApiError(400, "filters.field should not be empty")
    if field == "tags":
        values = value if isinstance(value, list) else [value]
        tag_q = Q()
        for tag in values:
            tag_q |= Q(tags__contains=f"|{str(tag).lower()}|")
        return {
            "eq": tag_q,
            "contains": tag_q,
            "not_eq": ~tag_q,
            "not_contains": ~tag_q,
            "exists": ~Q(tags=""),
            "not_exists": Q(tags=""),
        }.get(op) or _bad_operator(op)
    column = SEARCH_COLUMNS.get(field)
    if column:
        value = str(value or "").lower() if column == "email" else phone_digits(value)
    else:
        column = "data__" + field.replace(".", "__")
    if op == "eq":
        return Q(**{column: value})
    if op == "not_eq":
        return ~Q(**{column: value})
    if op == "contains":
        return Q(**{column + "__icontains": value})
    if op == "not_contains":
        return ~Q(**{column + "__icontains": value})
    if op == "exists":
        return ~Q(**{column + "__isnull": True}) & ~Q(**{column: ""})
    if op == "not_exists":
        return Q(**{column + "__isnull": True}) | Q(**{column: ""})
    if op == "range" and isinstance(value, dict):
        return Q(
            **{f"{column}__{k}": v for k, v in value.items() if k in ("gt", "gte", "lt", "lte")}
        )
    return _bad_operator(op)


def _bad_operator(op):
    raise ApiError(400, f"operator {op} is not supported")


def search(call: Call) -> Reply:
    """POST /contacts/search: filters, sort, ``page``/``pageLimit`` or ``searchAfter``."""
    body = call.body
    qs = store.resources_query(kind=KIND, location_id=location_of(call))
    qs = text_query(qs, body.get("query"))
    filters, sort = body.get("filters") or [], body.get("sort") or []
    for name, value in (("filters", filters), ("sort", sort)):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ApiError(400, f"{name} must be a list of objects")
    for flt in filters:
        qs = qs.filter(_filter_q(flt))
    if sort:
        order = []
        for item in sort:
            field = "data__" + str(item.get("field", "dateAdded"))
            order.append(
                ("-" if str(item.get("direction", "asc")).lower() == "desc" else "") + field
            )
        qs = qs.order_by(*order, "seq")
    window = page_window(call, default=20)
    if sort and window.after_seq is not None:
        raise ApiError(400, "searchAfter is only supported with the default sort; use page")
    rows, _more = page_rows(qs, window)
    contacts = [{**r.data, "searchAfter": [r.created_ms, r.resource_id]} for r in rows]
    return Reply({"contacts": contacts, "total": qs.count()})
