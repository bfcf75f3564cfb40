"""The spec registry: every operation loads, routes by its template, and the ROUTES table names
only operations that exist."""

import pytest

from sandbox.api.handlers.routes import ROUTES
from sandbox.spec.registry import registry_get


def test_it_loads_all_576_operations_from_41_files():
    registry = registry_get()
    assert len(registry.operations) == 576 == len(registry.by_key)
    assert len({op.spec_file for op in registry.operations}) == 41
    assert registry.borrowed_refs == {"links.json": {"BadRequestDTO", "UnauthorizedDTO"}}


def test_every_stateful_route_is_a_spec_operation():
    assert set(ROUTES) <= set(registry_get().by_key)


@pytest.mark.parametrize(
    "method, path, template, params",
    [
        ("GET", "/contacts/search/duplicate", "/contacts/search/duplicate", {}),
        ("GET", "/contacts/abc", "/contacts/{contactId}", {"contactId": "abc"}),
        ("GET", "/contacts", "/contacts/", {}),
        (
            "DELETE",
            "/contacts/c1/campaigns/removeAll",
            "/contacts/{contactId}/campaigns/removeAll",
            {"contactId": "c1"},
        ),
        (
            "DELETE",
            "/contacts/c1/campaigns/k9",
            "/contacts/{contactId}/campaigns/{campaignId}",
            {"contactId": "c1", "campaignId": "k9"},
        ),
    ],
)
def test_literal_segments_win_over_parameters(method, path, template, params):
    op, found = registry_get().route(method, path)
    assert op.path == template and found == params


def test_unknown_paths_and_methods_do_not_route():
    registry = registry_get()
    assert registry.route("GET", "/nothing/here") == (None, {})
    assert registry.route("PATCH", "/contacts/") == (None, {})
