import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from integrations.catalog.named import named_all
from integrations.catalog.registry import registry


def run(*args):
    out = StringIO()
    call_command("catalog", *args, stdout=out)
    return out.getvalue()


def test_json_holds_the_registry_and_the_named_catalog():
    data = json.loads(run("--json"))
    assert len(data["operations"]) == 576
    assert {o["key"] for o in data["operations"]} == set(registry())
    assert len(data["named"]) == len(named_all())
    first = data["named"][0]
    assert first == {
        "name": "Get Contact",
        "category": "Contacts",
        "kind": "polling_trigger",
        "origin": "page",
        "operation": "GET /contacts/{contactId}",
        "operation_id": "get-contact",
        "method": "GET",
        "path": "/contacts/{contactId}",
        "scopes": ["contacts.readonly"],
        "paging": {"style": "none", "where": "query", "cursor_params": [], "limit_param": ""},
        "poll": first["poll"],
    }
    assert first["poll"]["records"] == "contact" and first["poll"]["change_key"] == "dateUpdated"
    listed = next(o for o in data["operations"] if o["key"] == "GET /contacts/")
    assert listed["paging"]["style"] == "start_after" and listed["deprecated"] is True
    assert {"name": "locationId", "in": "query", "required": True} in listed["params"]


def test_actions_have_no_poll_plan_in_the_json():
    data = json.loads(run("--json", "--kind", "action"))
    assert data["named"] and all(n["kind"] == "action" and "poll" not in n for n in data["named"])


def test_the_text_listing_ends_with_the_counts():
    lines = run().strip().splitlines()
    assert lines[-1] == (
        "576 operations in the specs; 158 named (75 polling triggers, 83 actions) in 14 categories."
    )
    assert any("Create Contact" in line and "POST   /contacts/" in line for line in lines)


def test_it_filters_by_category_and_refuses_an_unknown_one():
    lines = run("--category", "Businesses").strip().splitlines()
    assert len(lines) == 6 and all(line.startswith("Businesses") for line in lines[:-1])
    with pytest.raises(CommandError, match="No named operations in category 'Nope'"):
        run("--category", "Nope")


def test_a_broken_spec_copy_is_a_command_error(settings, tmp_path):
    settings.GHL_SPEC_DIR = str(tmp_path)
    registry.cache_clear()
    try:
        with pytest.raises(CommandError, match=r"spec folder .* is missing"):
            run("--json")
    finally:
        registry.cache_clear()
