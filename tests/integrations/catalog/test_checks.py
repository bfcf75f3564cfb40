import shutil

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from integrations.catalog import named
from integrations.catalog.checks import check_catalog
from integrations.catalog.registry import registry
from integrations.catalog.spec_files import spec_dir


@pytest.fixture
def fresh_registry():
    registry.cache_clear()
    yield
    registry.cache_clear()


def test_the_project_spec_copy_passes():
    assert check_catalog(None) == []


def test_a_missing_spec_copy_stops_start_up(settings, tmp_path, fresh_registry):
    settings.GHL_SPEC_DIR = str(tmp_path / "gone")
    errors = check_catalog(None)
    assert [e.id for e in errors] == ["catalog.E001"]
    assert "spec folder" in errors[0].msg and "missing" in errors[0].msg
    with pytest.raises(SystemCheckError, match=r"catalog\.E001"):
        call_command("check")


def test_a_corrupt_spec_file_is_named(settings, tmp_path, fresh_registry):
    shutil.copytree(spec_dir(), tmp_path / "specs")
    (tmp_path / "specs" / "apps" / "contacts.json").write_text("not json")
    settings.GHL_SPEC_DIR = str(tmp_path / "specs")
    errors = check_catalog(None)
    assert errors[0].id == "catalog.E001" and "contacts.json" in errors[0].msg


def test_a_named_row_pointing_nowhere_is_reported(monkeypatch):
    monkeypatch.setattr(
        named, "NAMED", named.NAMED + (("Ghost", "Contacts", "action", "GET", "/ghost", "spec"),)
    )
    errors = check_catalog(None)
    assert [e.id for e in errors] == ["catalog.E002"] and "Ghost" in errors[0].msg


def test_the_check_is_registered():
    assert check_catalog in checks.registry.registry.get_checks()
