from integrations.catalog.paging import (
    CURSOR,
    NONE,
    PAGE,
    SEARCH_AFTER,
    SKIP,
    START_AFTER,
    Paging,
    page_items,
    paging_detect,
    paging_next,
)
from integrations.catalog.registry import operation_get
from integrations.catalog.services import paging_start

START = Paging(START_AFTER, "query", ("startAfter", "startAfterId"), "limit")


def contacts(n, start=0):
    return [{"id": f"c{i}", "searchAfter": [1000 + i, f"c{i}"]} for i in range(start, start + n)]


def test_start_after_follows_meta_next_page_url():
    data = {
        "contacts": contacts(2),
        "meta": {
            "nextPageUrl": "https://x/contacts/?locationId=L&startAfter=1631087949919&startAfterId=yd0j",
            "startAfter": 1631087949919,
            "startAfterId": "yd0j",
        },
    }
    params, body = paging_next(
        paging=START, params={"locationId": "L"}, body=None, data=data, limit=2
    )
    assert params == {"locationId": "L", "startAfter": "1631087949919", "startAfterId": "yd0j"}
    assert body == {}


def test_start_after_stops_when_there_is_no_next_page_url():
    data = {"contacts": contacts(2), "meta": {"nextPageUrl": None, "startAfterId": "c1"}}
    assert paging_next(paging=START, params={}, body=None, data=data, limit=2) is None


def test_search_after_takes_the_last_records_sort_key():
    paging = Paging(SEARCH_AFTER, "body", ("searchAfter",), "pageLimit")
    data = {"contacts": contacts(3), "total": 10}
    _params, body = paging_next(
        paging=paging, params={}, body={"pageLimit": 3, "page": 1}, data=data, limit=3
    )
    assert body == {"pageLimit": 3, "searchAfter": [1002, "c2"]}
    short = {"contacts": contacts(2)}
    assert paging_next(paging=paging, params={}, body=body, data=short, limit=3) is None


def test_page_counts_up_until_a_short_page():
    paging = Paging(PAGE, "query", ("page",), "limit")
    full = {"submissions": contacts(5), "meta": {"total": 12, "nextPage": 2}}
    params, _ = paging_next(
        paging=paging, params={"page": 1, "limit": 5}, body=None, data=full, limit=5
    )
    assert params["page"] == 2
    short = {"submissions": contacts(2), "meta": {"nextPage": None}}
    assert paging_next(paging=paging, params=params, body=None, data=short, limit=5) is None


def test_page_stops_when_meta_says_there_is_no_next_page():
    paging = Paging(PAGE, "query", ("page",), "limit")
    data = {"submissions": contacts(5), "meta": {"nextPage": None}}
    assert paging_next(paging=paging, params={"page": 3}, body=None, data=data, limit=5) is None


def test_skip_and_offset_advance_by_the_records_received():
    for name, where in (("skip", "query"), ("offset", "query"), ("skip", "body")):
        paging = Paging(SKIP, where, (name,), "limit")
        start = {name: 40, "limit": 20}
        params, body = paging_next(
            paging=paging,
            params=start if where == "query" else {},
            body=start if where == "body" else None,
            data={"items": contacts(20)},
            limit=20,
        )
        assert (params if where == "query" else body)[name] == 60
        assert (
            paging_next(paging=paging, params={}, body={}, data={"items": contacts(3)}, limit=20)
            is None
        )


def test_cursor_comes_from_the_answer_and_stops_on_next_page_false():
    paging = Paging(CURSOR, "query", ("lastMessageId",), "limit")
    data = {"messages": {"lastMessageId": "m9", "nextPage": True, "messages": contacts(20)}}
    params, _ = paging_next(paging=paging, params={}, body=None, data=data, limit=20)
    assert params == {"lastMessageId": "m9"}
    data["messages"]["nextPage"] = False
    assert paging_next(paging=paging, params={}, body=None, data=data, limit=20) is None


def test_conversation_search_pages_by_the_last_records_sort_value():
    paging = operation_get("GET /conversations/search").paging
    data = {"conversations": [{"id": "a", "sort": [111]}, {"id": "b", "sort": [222]}], "total": 9}
    params, _ = paging_next(paging=paging, params={"limit": 2}, body=None, data=data, limit=2)
    assert params["startAfterDate"] == 222


def test_an_empty_page_or_an_unpaged_operation_ends_the_walk():
    assert paging_next(paging=START, params={}, body=None, data={"contacts": []}, limit=20) is None
    assert (
        paging_next(paging=Paging(NONE), params={}, body=None, data={"x": contacts(3)}, limit=3)
        is None
    )


def test_page_items_finds_records_at_the_top_or_one_level_down():
    assert page_items([{"id": 1}]) == [{"id": 1}]
    assert page_items({"total": 1, "contacts": [{"id": 1}]}) == [{"id": 1}]
    assert page_items({"messages": {"nextPage": False, "messages": [{"id": 2}]}}) == [{"id": 2}]
    assert page_items("oops") == []


def test_detection_prefers_body_paging_and_falls_back_to_none():
    assert (
        paging_detect(
            key="X", query_names=["locationId"], body_names=["page", "pageLimit", "searchAfter"]
        ).style
        == SEARCH_AFTER
    )
    assert paging_detect(key="X", query_names=["locationId", "limit"], body_names=[]).style == NONE


def test_the_first_page_sets_the_page_size_within_the_spec_and_the_start():
    params, body, limit = paging_start(
        operation=operation_get("GET /products/"), params={}, body=None, limit=100
    )
    assert params == {"limit": 100, "offset": 0} and body is None and limit == 100
    params, body, limit = paging_start(
        operation=operation_get("POST /contacts/search"),
        params={},
        body={"locationId": "L"},
        limit=50,
    )
    assert body == {"locationId": "L", "pageLimit": 50} and params == {}
    params, _, _ = paging_start(
        operation=operation_get("GET /forms/submissions"), params={}, body=None, limit=20
    )
    assert params == {"limit": 20, "page": 1}


def test_the_page_size_is_capped_by_the_specs_maximum():
    op = operation_get("GET /calendars/appointments/{appointmentId}/notes")
    params, _, limit = paging_start(operation=op, params={}, body=None, limit=100)
    assert params == {"limit": 20, "offset": 0} and limit == 20
