import json
import shutil

import pytest

from integrations.catalog.paging import PAGE, SEARCH_AFTER, SKIP, START_AFTER
from integrations.catalog.registry import (
    AGENCY,
    EITHER,
    LOCATION,
    NO_TOKEN,
    operation_get,
    registry,
    registry_load,
)
from integrations.catalog.spec_files import SpecError, spec_dir


def test_it_loads_exactly_the_576_operations_of_the_specs():
    ops = registry()
    assert len(ops) == 576
    assert all(key == f"{op.method} {op.path}" for key, op in ops.items())
    assert len({op.source for op in ops.values()}) == 41


def test_it_reads_everything_an_operation_needs_from_the_spec():
    op = operation_get("GET /contacts/{contactId}")
    assert op.operation_id == "get-contact"
    assert op.source == "contacts.json"
    assert op.tag == "Contacts"
    assert op.scopes == ("contacts.readonly",)
    assert op.access == LOCATION
    assert op.version == "2021-07-28"
    assert [(p.name, p.location, p.required) for p in op.form_params] == [
        ("contactId", "path", True)
    ]
    assert op.body_schema is None and not op.deprecated


def test_it_resolves_the_request_body_schema_including_nested_refs():
    op = operation_get("POST /contacts/")
    assert op.body_content_type == "application/json"
    assert "locationId" in op.body_schema["required"]
    dnd = op.body_schema["properties"]["dndSettings"]
    assert "$ref" not in json.dumps(op.body_schema)
    assert "properties" in dnd


def test_it_keeps_the_version_each_operation_requires():
    assert operation_get("GET /calendars/").version == "2021-04-15"
    assert operation_get("GET /contacts/").version == "2021-07-28"


def test_it_tells_location_agency_and_either_token_apart():
    assert operation_get("GET /companies/{companyId}").access == AGENCY
    assert operation_get("GET /locations/search").access == EITHER
    assert operation_get("POST /oauth/token").access == NO_TOKEN
    counts = {}
    for op in registry().values():
        counts[op.access] = counts.get(op.access, 0) + 1
    assert set(counts) == {LOCATION, AGENCY, EITHER, NO_TOKEN}


def test_it_flags_deprecated_operations():
    assert operation_get("GET /contacts/").deprecated
    assert sum(op.deprecated for op in registry().values()) == 19


@pytest.mark.parametrize(
    "key, style, cursor, limit",
    [
        ("GET /contacts/", START_AFTER, ("startAfter", "startAfterId"), "limit"),
        ("POST /contacts/search", SEARCH_AFTER, ("searchAfter",), "pageLimit"),
        ("POST /objects/{schemaKey}/records/search", SEARCH_AFTER, ("searchAfter",), "pageLimit"),
        ("GET /forms/submissions", PAGE, ("page",), "limit"),
        ("GET /products/", SKIP, ("offset",), "limit"),
        ("GET /locations/search", SKIP, ("skip",), "limit"),
    ],
)
def test_it_detects_each_paging_style(key, style, cursor, limit):
    paging = operation_get(key).paging
    assert (paging.style, paging.cursor_params, paging.limit_param) == (style, cursor, limit)


def test_it_declares_path_parameters_the_spec_forgot():
    op = operation_get("GET /conversations/messages/email/{id}")
    assert [(p.name, p.location, p.required) for p in op.form_params] == [("id", "path", True)]


def test_an_unknown_operation_is_a_clear_error():
    with pytest.raises(KeyError, match="METHOD /path"):
        operation_get("GET /contacts/nowhere")


def test_a_missing_spec_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SpecError, match="missing"):
        registry_load(root=tmp_path / "nope")


def test_a_missing_spec_file_is_a_clear_error(tmp_path):
    shutil.copytree(spec_dir(), tmp_path / "specs")
    (tmp_path / "specs" / "apps" / "users.json").unlink()
    with pytest.raises(SpecError, match="40 spec files, expected 41"):
        registry_load(root=tmp_path / "specs")


def test_a_broken_spec_file_is_named_in_the_error(tmp_path):
    shutil.copytree(spec_dir(), tmp_path / "specs")
    (tmp_path / "specs" / "apps" / "users.json").write_text('{"paths": ')
    with pytest.raises(SpecError, match=r"users\.json is not readable JSON"):
        registry_load(root=tmp_path / "specs")
