"""Paging as HighLevel documents it, endpoint by endpoint, over the stable ``seq`` order.

Styles: ``startAfterId``/``startAfter`` with ``meta.nextPageUrl`` (GET /contacts/), ``page``/
``pageLimit`` and ``searchAfter`` (POST /contacts/search), ``skip``/``limit``, ``offset``/``limit``,
``lastMessageId``. Every style caps a page at 100 items.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.db.models import Count

from sandbox.errors import ApiError
from sandbox.models import Resource
from sandbox.queries import rows_of
from sandbox.state.store import resources_query

MAX_PAGE = 100
MAX_NUMBER = 2**53  # paging numbers beyond this are nonsense (and overflow SQLite's integers)
DEFAULT_PAGE = 20


@dataclass
class Window:
    limit: int
    offset: int = 0
    after_seq: int | None = None
    after_time: datetime | None = None  # ``startAfter`` alone (epoch ms): rows created later
    page: int | None = None

    def whole(self, *, more: bool) -> bool:
        """True when a page read from the start with nothing after it holds every row (its
        length is the total: no count query, as on a contact's few notes)."""
        return not more and not self.offset and self.after_seq is None and self.after_time is None


def _number(value, name, op):
    if value in (None, ""):
        return None
    status = 422 if 422 in op.responses else 400
    try:
        number = int(float(value))
    except (TypeError, ValueError, OverflowError):
        raise ApiError(status, [f"{name} must be a number"]) from None
    if not 0 <= number <= MAX_NUMBER:
        raise ApiError(status, [f"{name} must be a number between 0 and {MAX_NUMBER}"])
    return number


def _seq_of(resource_id) -> int | None:
    if not resource_id:
        return None
    rows = rows_of(
        "paging.seq",
        lambda value: (
            Resource.objects.filter(resource_id=value).order_by("pk").values_list("seq")[:1]
        ),
        [str(resource_id)],
    )
    if not rows:
        return 0  # unknown cursor: HighLevel starts over rather than failing
    return rows[0][0]


def page_window(call, *, default: int = DEFAULT_PAGE) -> Window:
    """The page a request asks for, refusing more than 100 items as HighLevel does."""
    q, b, op = call.query, call.body, call.op
    limit, limit_name = None, "limit"
    for name in ("limit", "pageLimit"):
        limit = _number(q.get(name, b.get(name)), name, op)
        if limit is not None:
            limit_name = name
            break
    if limit is None:
        limit = default
    if limit > MAX_PAGE:
        status = 422 if 422 in op.responses else 400
        message = f"{limit_name} must not be greater than {MAX_PAGE}"
        raise ApiError(status, [message] if status == 422 else message)
    limit = max(limit, 1)
    offset = (
        _number(q.get("skip", q.get("offset", b.get("skip", b.get("offset")))), "skip", op) or 0
    )
    page = _number(q.get("page", b.get("page")), "page", op)
    if page:
        offset = (max(page, 1) - 1) * limit
    after = q.get("startAfterId") or q.get("lastMessageId")
    search_after = b.get("searchAfter")
    if search_after is not None and not isinstance(search_after, list):
        raise ApiError(422 if 422 in op.responses else 400, ["searchAfter must be an array"])
    if search_after:
        after = search_after[-1]
    after_time = None
    if not after and q.get("startAfter") not in (None, ""):
        ms = min(_number(q["startAfter"], "startAfter", op), 253402300799000)  # year 9999
        after_time = datetime.fromtimestamp((ms + 1) / 1000, tz=UTC)  # after that millisecond
    return Window(
        limit=limit,
        offset=max(offset, 0),
        after_seq=_seq_of(after),
        page=page,
        after_time=after_time,
    )


ROW_FIELDS = ("seq", "resource_id", "location_id", "created_at", "data")


@dataclass(frozen=True)
class Row:
    """The fields of a listed resource a page needs (cheaper than model instances)."""

    seq: int
    resource_id: str
    location_id: str
    created_at: datetime
    data: dict

    @property
    def created_ms(self) -> int:
        return int(self.created_at.timestamp() * 1000)


def page_rows(qs, window: Window) -> tuple[list[Row], bool]:
    """One page of ``qs`` (already ordered) and whether more follow."""
    if window.after_seq is not None:
        qs = qs.filter(seq__gt=window.after_seq)
    elif window.after_time is not None:
        qs = qs.filter(created_at__gte=window.after_time)
    rows = [
        Row(*values)
        for values in qs.values_list(*ROW_FIELDS)[window.offset : window.offset + window.limit + 1]
    ]
    return rows[: window.limit], len(rows) > window.limit


def location_page(*, kind: str, location_id: str, window: Window) -> tuple[list[Row], bool, int]:
    """:func:`page_rows` of a location's ``kind`` resources in ``seq`` order, and their total:
    what a list endpoint without filters asks on every page, through compiled queries."""
    if window.after_time is not None:
        qs = resources_query(kind=kind, location_id=location_id)
        rows, more = page_rows(qs, window)
        return rows, more, qs.count()
    start, stop = window.offset, window.offset + window.limit + 1
    after = [] if window.after_seq is None else [window.after_seq]

    def page(kind, location_id, *after):
        qs = resources_query(kind=kind, location_id=location_id)
        if after:
            qs = qs.filter(seq__gt=after[0])
        return qs.values_list(*ROW_FIELDS)[start:stop]

    def total(kind, location_id):  # one group: every row has this kind
        qs = resources_query(kind=kind, location_id=location_id).order_by()
        return qs.values("kind").annotate(n=Count("pk")).values_list("n")

    found = rows_of(
        ("paging.location", bool(after), start, stop), page, [kind, location_id, *after]
    )
    rows = [Row(*values) for values in found]
    counted = rows_of("paging.location_total", total, [kind, location_id])
    return rows[: window.limit], len(rows) > window.limit, counted[0][0] if counted else 0


def next_page_meta(*, call, rows: list, more: bool, total: int) -> dict:
    """``meta`` as GET /contacts/ returns it: a ready ``nextPageUrl`` and the cursor values."""
    meta = {
        "total": total,
        "currentPage": None,
        "nextPage": None,
        "prevPage": None,
        "startAfterId": None,
        "startAfter": None,
        "nextPageUrl": None,
    }
    if rows and more:
        last = rows[-1]
        query = {
            k: v for k, v in call.request.GET.items() if k not in ("startAfterId", "startAfter")
        }
        query.update(startAfterId=last.resource_id, startAfter=last.created_ms)
        meta.update(
            startAfterId=last.resource_id,
            startAfter=last.created_ms,
            nextPageUrl=call.request.build_absolute_uri(call.request.path) + "?" + urlencode(query),
        )
    return meta
