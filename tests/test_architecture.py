"""The import contract (.importlinter) holds, covers every module, and catches a forbidden import.

To see it fail by hand: copy the apps and .importlinter to a scratch folder, add an import that
crosses a layer (say ``from integrations.sync import jobs`` at the end of
``integrations/ghl/errors.py``) and run ``lint-imports`` there, as these tests do.
"""

import configparser
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("portal", "integrations", "mappings", "rankr", "sandbox")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd):
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def _layer_modules():
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    lines = config["importlinter:contract:layers"]["layers"].split("\n")
    return [
        module.strip()
        for line in lines
        for module in line.replace("|", ":").split(":")
        if module.strip()
    ]


@pytest.fixture
def scratch(tmp_path):
    for app in APPS:
        shutil.copytree(ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


@pytest.mark.slow  # runs lint-imports in a subprocess
def test_the_tree_keeps_every_import_contract():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_module_of_the_portal_apps_sits_in_one_layer():
    layered = _layer_modules()
    assert len(layered) == len(set(layered)), "a module is named in two layers"
    for app in ("portal", "integrations", "mappings", "rankr"):
        for child in pkgutil.iter_modules([str(ROOT / app)]):
            name = f"{app}.{child.name}"
            assert name in layered, f"{name} is in no layer of .importlinter: add it to one"


@pytest.mark.slow  # runs lint-imports in a subprocess
def test_a_lower_layer_importing_a_higher_one_fails(scratch):
    with open(scratch / "integrations/ghl/errors.py", "a") as handle:
        handle.write("\nfrom integrations.sync import jobs  # noqa: E402,F401\n")
    result = _lint_imports(scratch)
    assert result.returncode != 0
    assert "integrations.ghl is not allowed to import integrations.sync" in result.stdout
    assert "integrations.ghl.errors -> integrations.sync.jobs" in result.stdout


@pytest.mark.slow  # runs lint-imports in a subprocess
def test_a_new_cycle_between_siblings_fails(scratch):
    # Two sync modules importing each other: no layer is crossed, the acyclic contract catches it.
    with open(scratch / "integrations/sync/jobs.py", "a") as handle:
        handle.write("\nfrom integrations.sync import flows  # noqa: E402,F401\n")
    with open(scratch / "integrations/sync/flows.py", "a") as handle:
        handle.write("\nfrom integrations.sync import jobs  # noqa: E402,F401\n")
    result = _lint_imports(scratch)
    assert result.returncode != 0
    assert "No cycles are allowed in integrations.sync" in result.stdout


@pytest.mark.slow  # runs lint-imports in a subprocess
def test_the_sandbox_importing_the_portal_fails(scratch):
    with open(scratch / "sandbox/errors.py", "a") as handle:
        handle.write("\nfrom portal import models  # noqa: E402,F401\n")
    result = _lint_imports(scratch)
    assert result.returncode != 0
    assert "sandbox is not allowed to import portal" in result.stdout
