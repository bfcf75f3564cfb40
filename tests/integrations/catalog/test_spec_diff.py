"""``manage.py spec_diff OLD NEW``: what a new copy of HighLevel's specs changes, marked with what
in the portal uses each changed operation."""

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.catalog.spec_diff import spec_diff, spec_fingerprint
from integrations.catalog.spec_files import spec_dir
from tests.admin_samples import _subscription

SPECS = Path(spec_dir())


def _param(op, name):
    return next(p for p in op["parameters"] if p["name"] == name)


@pytest.fixture
def newer(tmp_path):
    """A copy of the project's specs with one operation removed, one Version changed, a new
    required query parameter and a deprecation."""
    copy = tmp_path / "highlevel-new"
    shutil.copytree(SPECS, copy)
    path = copy / "apps" / "contacts.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    del doc["paths"]["/contacts/{contactId}"]["get"]
    search = doc["paths"]["/contacts/search"]["post"]
    _param(search, "Version")["schema"]["enum"] = ["2026-01-01"]
    listing = doc["paths"]["/contacts/"]["get"]
    listing["parameters"].append(
        {"name": "region", "in": "query", "required": True, "schema": {"type": "string"}}
    )
    doc["paths"]["/contacts/{contactId}/tasks"]["get"]["deprecated"] = True
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return copy


def test_the_same_specs_differ_in_nothing():
    diff = spec_diff(old_dir=SPECS, new_dir=SPECS)
    assert diff.changes == [] and diff.old_count == diff.new_count == 576


def test_it_reports_a_removed_operation_and_a_version_change_and_names_the_flow(
    newer, role_users, location
):
    _subscription(location, role_users)  # polls POST /contacts/search with ghl_contact_upsert
    out = StringIO()
    call_command("spec_diff", str(SPECS), str(newer), stdout=out)
    text = out.getvalue()
    assert "Operations: 576 → 575" in text
    removed = text[text.index("Removed operations (1):") :]
    assert removed.splitlines()[1].strip() == (
        "USED GET /contacts/{contactId}: removed (was get-contact in contacts.json)"
    )
    assert "flow ghl_contact_upsert" in removed.splitlines()[2]
    assert "1 location mapping(s)" in removed.splitlines()[2]
    versions = text[text.index("Version changes (1):") :].splitlines()
    assert versions[1].strip() == "USED POST /contacts/search: Version 2021-07-28 → 2026-01-01"
    assert "named trigger 'Search Contacts'" in versions[2]
    assert "1 subscription(s)" in versions[2]
    required = text[text.index("New required parameters (1):") :].splitlines()
    assert "GET /contacts/: new required parameter(s): query region" in required[1]
    assert "GET /contacts/{contactId}/tasks: now deprecated" in text
    assert text.rstrip().endswith("4 change(s) affect what the portal uses.")


def test_an_unchanged_operation_nobody_uses_is_left_out_with_used_only(newer, db):
    out = StringIO()
    call_command("spec_diff", str(SPECS), str(newer), "--used-only", stdout=out)
    assert "GET /contacts/{contactId}" in out.getvalue()


def test_a_directory_without_specs_is_a_clear_error(tmp_path, db):
    with pytest.raises(CommandError, match=r"spec folder .* is missing"):
        call_command("spec_diff", str(SPECS), str(tmp_path), stdout=StringIO())


def test_an_unmigrated_database_is_a_clear_error(db):
    from django.db import connection

    with connection.cursor() as cursor:  # as before `manage.py migrate`
        cursor.execute("ALTER TABLE integrations_subscription RENAME TO subscription_not_yet")
    with pytest.raises(CommandError, match=r"cannot be read .*run manage.py migrate first"):
        call_command("spec_diff", str(SPECS), str(SPECS), stdout=StringIO())


def test_the_readme_records_the_fingerprint_of_the_copy():
    readme = (SPECS / "README.md").read_text(encoding="utf-8")
    assert spec_fingerprint(root=SPECS) in readme
