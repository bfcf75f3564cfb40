"""Odd values the spec lets through (or the sandbox must refuse) never crash a stateful handler:
every answer is below 500."""

import json

import pytest

from sandbox.api.handlers.routes import ROUTES
from sandbox.spec.registry import registry_get
from tests.sandbox.conftest import API
from tests.sandbox.test_contract import (
    _resource,
    accepted_body,
    accepted_query,
    fill_path,
    path_values,
    token_for,
    version_of,
)

LISTINGS = sorted(k for k in ROUTES if k[0] == "GET")
ODD_PAGING = [
    (name, value)
    for name in ("limit", "skip", "startAfterId", "startAfter", "page", "query")
    for value in ("-1", "abc", "99999999999999999999")
]
ODD_SEARCH = [
    {"filters": 5},
    {"filters": [{"group": "OR", "filters": "x"}]},
    {"sort": ["x"]},
    {"sort": {"a": 1}},
    {"searchAfter": 3},
    {"pageLimit": -5},
    {"page": "x"},
    {"filters": [{"field": "dateAdded", "operator": "range", "value": {"gt": "2024"}}]},
]


def prepared(op, world):
    ids = path_values(op)
    path = fill_path(op, ids)
    ids = {**ids, "contactId": ids.get("contactId") or _resource("contact")}
    headers = {**version_of(op), "HTTP_AUTHORIZATION": f"Bearer {token_for(op, world)}"}
    return path, accepted_query(op, ids), accepted_body(op, ids)[1], headers


@pytest.mark.slow  # per listing operation of the specs
@pytest.mark.parametrize("key", LISTINGS, ids=[f"{m} {p}" for m, p in LISTINGS])
def test_odd_paging_values_get_a_4xx_or_a_page(key, client, world):
    op = registry_get().by_key[key]
    path, query, _, headers = prepared(op, world)
    for name, value in ODD_PAGING:
        response = client.get(API + path, {**query, name: value}, **headers)
        assert response.status_code < 500, (name, value, response.content[:200])


@pytest.mark.django_db
def test_odd_search_bodies_are_refused_in_highlevels_shape(client, world):
    op = registry_get().by_key[("POST", "/contacts/search")]
    path, _query, body, headers = prepared(op, world)
    for odd in ODD_SEARCH:
        response = client.post(
            API + path, json.dumps({**body, **odd}), content_type="application/json", **headers
        )
        assert response.status_code < 500, (odd, response.content[:200])
        if response.status_code >= 400:
            assert set(response.json()) == {"statusCode", "message", "error", "traceId"}
