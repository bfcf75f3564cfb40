"""The supply chain: runtime and test/check requirements apart, every package (transitive ones
too) locked with its hashes and installed with --require-hashes, pip-audit run by CI over the
locks."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_AND_CHECK_TOOLS = {"pytest", "pytest-django", "responses", "playwright", "ruff", "mypy"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a lock file (uv/pip-compile format, continued lines)."""
    text = path.read_text().replace("\\\n", " ")
    entries = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;]+)", line)
        assert match, f"{path.name}: not an exact pin: {line[:80]}"
        entries[_normal(match.group(1))] = (match.group(3), re.findall(r"--hash=sha256:\w+", line))
    return entries


def direct(path: Path) -> dict[str, str]:
    pins = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            pins[_normal(re.sub(r"\[.*\]", "", name))] = version
    return pins


@pytest.mark.parametrize("lock", ["requirements.txt", "requirements-dev.txt"])
def test_every_package_is_pinned_with_hashes(lock):
    entries = locked(ROOT / lock)
    assert len(entries) > 30  # transitive packages too, not only the direct ones
    unhashed = [name for name, (_, hashes) in entries.items() if not hashes]
    assert not unhashed, f"{lock}: no hash for {unhashed}"


def test_the_runtime_lock_holds_no_test_or_check_tool():
    assert not TEST_AND_CHECK_TOOLS & set(locked(ROOT / "requirements.txt"))


def test_the_locks_agree_with_the_direct_pins_and_each_other():
    runtime, dev = locked(ROOT / "requirements.txt"), locked(ROOT / "requirements-dev.txt")
    for name, version in direct(ROOT / "requirements.in").items():
        assert runtime[name][0] == version, name
    for name, version in direct(ROOT / "requirements-dev.in").items():
        assert dev[name][0] == version, name
    for name, (version, _) in runtime.items():
        assert dev[name][0] == version, f"{name}: {version} at run time, {dev[name][0]} in tests"
    assert {"pip-audit", "uv"} <= set(dev)


def test_installs_require_hashes_and_ci_audits_the_locks():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q --require-hashes -r requirements.txt" in makefile
    assert "pip install -q --require-hashes -r requirements-dev.txt" in makefile
    audit = makefile.split("\naudit:", 1)[1].split("\n\n", 1)[0]
    assert "pip-audit" in audit and "-r requirements.txt -r requirements-dev.txt" in audit
    assert "make audit" in (ROOT / ".ci" / "run").read_text()
