"""The catalog's scopes are the union of the specs' ``security`` and docs/oauth/Scopes.md."""

from types import SimpleNamespace

from integrations.catalog.calls import scopes_missing
from integrations.catalog.registry import registry
from integrations.catalog.scopes_doc import doc_endpoint_scopes, doc_operation_match


def test_scopes_md_rows_are_read_with_continuation_rows_and_colon_parameters():
    rows = doc_endpoint_scopes()
    assert ("businesses.readonly", "GET", "/businesses/{businessId}") in rows
    assert ("socialplanner/tag.readonly", "GET", "/social-media-posting/{locationId}/tags") in rows
    assert (
        "courses.write",
        "POST",
        "/courses/courses-exporter/public/import",
    ) in rows  # no leading /


def test_a_doc_endpoint_lands_on_the_operation_a_request_would():
    ops = registry()
    assert (
        doc_operation_match(operations=ops, method="GET", path="/calendars/{calendarId}")
        == "GET /calendars/{calendarId}"
    )
    assert (
        doc_operation_match(operations=ops, method="GET", path="/calendars/groups")
        == "GET /calendars/groups"
    )
    assert doc_operation_match(operations=ops, method="GET", path="/no/such/{thing}") is None


def test_operations_the_spec_leaves_open_need_the_scope_the_docs_name():
    ops = registry()
    assert ops["GET /social-media-posting/{locationId}/tags"].scopes == (
        "socialplanner/tag.readonly",
    )
    assert ops["POST /courses/courses-exporter/public/import"].scopes == ("courses.write",)
    assert ops["GET /contacts/{contactId}"].scopes == ("contacts.readonly",)


def test_where_spec_and_docs_disagree_either_scope_suffices():
    op = registry()["DELETE /locations/{locationId}"]
    assert set(op.scopes) == {"locations.write", "locations.internal-access-only"}
    assert scopes_missing(operation=op, granted={"locations.write"}) == []
    assert scopes_missing(operation=op, granted={"contacts.readonly"}) == list(op.scopes)
    assert scopes_missing(operation=SimpleNamespace(scopes=()), granted=set()) == []
