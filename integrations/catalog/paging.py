"""How each list operation pages, read from its parameters, and how to ask for the next page.

HighLevel uses several styles (documented per endpoint in the specs):

- ``start_after``: ``startAfter`` + ``startAfterId`` query params; the answer's ``meta`` carries the
  next pair and ``meta.nextPageUrl`` (GET /contacts/, GET /opportunities/search).
- ``search_after``: a ``searchAfter`` array in the body, taken from the last record (POST searches).
- ``page``: ``page`` with ``limit``, ``pageLimit`` or ``pageSize``.
- ``skip``: ``skip`` or ``offset`` with ``limit`` (query or body).
- ``cursor``: an opaque cursor such as ``lastMessageId`` or ``cursor`` echoed by the answer.
- ``none``: one answer holds everything.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

NONE = "none"
START_AFTER = "start_after"
SEARCH_AFTER = "search_after"
PAGE = "page"
SKIP = "skip"
CURSOR = "cursor"
STYLES = (NONE, START_AFTER, SEARCH_AFTER, PAGE, SKIP, CURSOR)

LIMIT_NAMES = ("limit", "pageLimit", "pageSize")
CURSOR_NAMES = ("lastMessageId", "cursor", "next", "startAfterDate")
DEFAULT_LIMIT = 100  # HighLevel's usual maximum page size


@dataclass(frozen=True)
class Paging:
    style: str = NONE
    where: str = "query"  # "query" or "body": where the paging parameters go
    cursor_params: tuple[str, ...] = ()
    limit_param: str = ""
    item_field: str = ""  # cursor taken from this field of the last record (else from the answer)

    def describe(self) -> str:
        if self.style == NONE:
            return "none"
        names = "/".join(self.cursor_params + ((self.limit_param,) if self.limit_param else ()))
        return f"{self.style} ({self.where}: {names})"


# The spec gives POST /contacts/search an empty body schema; HighLevel's docs for "Search Contacts"
# page it with `pageLimit` + `searchAfter` (or `page` up to 10,000 records).
PAGING_OVERRIDES = {
    "POST /contacts/search": Paging(SEARCH_AFTER, "body", ("searchAfter",), "pageLimit"),
    # `startAfterDate` "should contain the sort value of the last document" (conversations.json).
    "GET /conversations/search": Paging(CURSOR, "query", ("startAfterDate",), "limit", "sort"),
}


def paging_detect(*, key: str, query_names: Iterable[str], body_names: Iterable[str]) -> Paging:
    """The paging style of an operation, from its query parameter and body property names."""
    if key in PAGING_OVERRIDES:
        return PAGING_OVERRIDES[key]
    for where, names in (("body", set(body_names)), ("query", set(query_names))):
        limit = next((n for n in LIMIT_NAMES if n in names), "")
        if "searchAfter" in names:
            return Paging(SEARCH_AFTER, where, ("searchAfter",), limit)
        if "startAfterId" in names or "startAfter" in names:
            cursor = tuple(n for n in ("startAfter", "startAfterId") if n in names)
            return Paging(START_AFTER, where, cursor, limit)
        if "page" in names:
            return Paging(PAGE, where, ("page",), limit)
        for name in ("skip", "offset"):
            if name in names:
                return Paging(SKIP, where, (name,), limit)
        for name in CURSOR_NAMES:
            if name in names:
                return Paging(CURSOR, where, (name,), limit)
    return Paging()


def page_items(data: object) -> list[Any]:
    """The records of one answer: the first list of objects at the top or one level down."""
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        return []
    for value in data.values():
        if isinstance(value, list) and (not value or isinstance(value[0], dict)):
            return value
    for value in data.values():
        if isinstance(value, dict):
            for inner in value.values():
                if isinstance(inner, list) and inner and isinstance(inner[0], dict):
                    return inner
    return []


def paging_next(
    *, paging: Paging, params: Mapping[str, Any] | None, body: Any, data: Any, limit: int
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(params, body)`` for the page after ``data``, or None when ``data`` was the last page."""
    items = page_items(data)
    if paging.style == NONE or not items:
        return None
    params, body = dict(params or {}), dict(body or {})
    target = body if paging.where == "body" else params
    full = len(items) >= limit
    if paging.style == START_AFTER:
        cursor = _start_after_cursor(data)
        if not cursor:
            return None
        target.update({k: v for k, v in cursor.items() if k in paging.cursor_params})
    elif paging.style == SEARCH_AFTER:
        last = items[-1].get("searchAfter") if isinstance(items[-1], dict) else None
        if not full or not last:
            return None
        target["searchAfter"] = last
        target.pop("page", None)
    elif paging.style == PAGE:
        meta = data.get("meta") if isinstance(data, dict) else None
        if not full or (isinstance(meta, dict) and "nextPage" in meta and not meta["nextPage"]):
            return None
        target["page"] = int(target.get("page") or 1) + 1
    elif paging.style == SKIP:
        if not full:
            return None
        name = paging.cursor_params[0]
        target[name] = int(target.get(name) or 0) + len(items)
    elif paging.style == CURSOR:
        name = paging.cursor_params[0]
        if paging.item_field:
            value = items[-1].get(paging.item_field) if isinstance(items[-1], dict) else None
            value, more = (value[0] if isinstance(value, list) and value else value), full
        else:
            value, more = _find_cursor(data, name)
        if not value or not more or value == target.get(name):
            return None
        target[name] = value
    return params, body


def _start_after_cursor(data: object) -> dict[str, str] | None:
    meta = data.get("meta") if isinstance(data, dict) else None
    if not isinstance(meta, dict):
        return None
    url = meta.get("nextPageUrl")
    if url:
        query = parse_qs(urlsplit(url).query)
        found = {k: query[k][0] for k in ("startAfter", "startAfterId") if query.get(k)}
        return found or None
    return None


def _find_cursor(data: object, name: str) -> tuple[Any, bool]:
    """(cursor value, more pages?) from the answer, at the top or one level down."""
    if not isinstance(data, dict):
        return None, False
    for scope in [data] + [v for v in data.values() if isinstance(v, dict)]:
        if name in scope:
            return scope[name], scope.get("nextPage", True) is not False
    return None, False
