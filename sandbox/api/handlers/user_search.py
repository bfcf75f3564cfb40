"""Users: the two documented searches, answered from stored users.

``GET /users/search`` matches ``query`` against the user's full name, email or phone (HighLevel:
"matched based on the user full name, email or phone"), narrowed by ``locationId``, ``role``,
``type`` and ``ids``; ``POST /users/search/filter-by-email`` takes a comma-separated ``emails`` list
(exact, case-insensitive) and ``deleted``. Both page with ``skip``/``limit`` (default 25, as the
spec says) and answer ``{"users": [...], "count": total}``.
"""

from django.db.models import Q

from sandbox.api.context import Call, Reply
from sandbox.api.handlers.paging import page_rows, page_window
from sandbox.api.handlers.users import user_public
from sandbox.errors import ApiError
from sandbox.models import Resource

KIND = "user"
DEFAULT_LIMIT = 25


def _company_scope(call: Call):
    qs = Resource.objects.filter(kind=KIND)
    company_id = call.query.get("companyId") or call.body.get("companyId") or call.company_id
    if call.company_id and company_id and company_id != call.company_id:
        raise ApiError(403, "The token does not have access to this company.")
    if call.company_id:
        qs = qs.filter(company_id=call.company_id)
    if call.token_location_id:  # a location token sees its location's users
        qs = qs.filter(location_id=call.token_location_id)
    return qs


def _answer(call: Call, qs) -> Reply:
    qs = qs.order_by("seq")
    window = page_window(call, default=DEFAULT_LIMIT)
    rows, _ = page_rows(qs, window)
    return Reply({"users": [user_public(row.data) for row in rows], "count": qs.count()})


def search(call: Call) -> Reply:
    qs = _company_scope(call).filter(deleted=False)
    query = call.query
    if query.get("locationId"):
        qs = qs.filter(location_id=query["locationId"])
    term = str(query.get("query") or "").strip()
    if term:
        words = Q(data__firstName__icontains=term) | Q(data__lastName__icontains=term)
        words |= Q(data__name__icontains=term) | Q(email__icontains=term.lower())
        digits = "".join(ch for ch in term if ch.isdigit())
        if digits:
            words |= Q(phone__contains=digits)
        qs = qs.filter(words)
    for name in ("role", "type"):
        if query.get(name):
            value = query[name]
            qs = qs.filter(Q(**{f"data__{name}": value}) | Q(**{f"data__roles__{name}": value}))
    if query.get("ids"):
        qs = qs.filter(
            resource_id__in=[i.strip() for i in str(query["ids"]).split(",") if i.strip()]
        )
    return _answer(call, qs)


def filter_by_email(call: Call) -> Reply:
    body = call.body
    emails = [e.strip().lower() for e in str(body.get("emails") or "").split(",") if e.strip()]
    if not emails:
        raise ApiError(422, ["emails should not be empty"])
    qs = _company_scope(call).filter(email__in=emails)
    qs = qs.filter(deleted=bool(body.get("deleted", False)))
    return _answer(call, qs)
