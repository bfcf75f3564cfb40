"""HighLevel's docs/oauth/Scopes.md as data: which scope each endpoint needs.

The specs' ``security`` and Scopes.md disagree in places (specs/highlevel/DEFECTS.md); the
catalog takes their union per operation (holding any one of an operation's scopes is enough), so
*Test connection* and every scope check ask for what HighLevel may enforce under either source.
"""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from integrations.catalog.spec_files import spec_dir

_ENDPOINT = re.compile(r"^(GET|POST|PUT|PATCH|DELETE)\s+(\S+)$")


class Routed(Protocol):
    """What matching reads of an operation (the registry's ``Operation``, which imports this)."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...


def doc_endpoint_scopes(*, root: Path | None = None) -> list[tuple[str, str, str]]:
    """(scope, METHOD, /path/{param}) for each endpoint row of Scopes.md, in table order."""
    doc_path = (root or spec_dir()) / "docs" / "oauth" / "Scopes.md"
    if not doc_path.exists():  # a bare spec copy (tests): the specs' scopes alone
        return []
    text = doc_path.read_text(encoding="utf-8")
    rows: list[tuple[str, str, str]] = []
    scope = ""
    for line in text.splitlines():
        cells = [c.replace("&nbsp;", "").strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2 or cells[0] == "Scope" or "---" in line:
            continue
        scope = cells[0] or scope  # continuation rows leave the scope cell blank
        match = _ENDPOINT.match(cells[1])
        if scope and match:
            path = "/" + re.sub(r":(\w+)", r"{\1}", match.group(2)).lstrip("/")
            rows.append((scope, match.group(1), path))
    return rows


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def doc_operation_match(*, operations: Mapping[str, Routed], method: str, path: str) -> str | None:
    """The operation key a Scopes.md endpoint names, or None, routed as a request path would be.

    An operation's parameter matches any segment, its literal segments must be equal (a doc's
    ``:calendarId`` never matches ``groups``); among candidates the one with most literal
    segments wins, so ``GET /contacts/search`` never lands on ``GET /contacts/{contactId}``.
    """
    wanted = _segments(path)
    best: str | None = None
    best_literals = -1
    for key, op in operations.items():
        if op.method != method:
            continue
        have = _segments(op.path)
        if len(have) != len(wanted):
            continue
        literals = 0
        for mine, theirs in zip(have, wanted, strict=True):
            if mine.startswith("{"):
                continue
            if mine != theirs:
                break
            literals += 1
        else:
            if literals > best_literals:
                best, best_literals = key, literals
    return best


def scopes_union(
    operations: Mapping[str, Routed], *, root: Path | None = None
) -> tuple[dict[str, list[str]], list[tuple[str, str, str]]]:
    """({key: doc scopes}, [unmatched rows]) for ``operations``."""
    found: dict[str, list[str]] = {}
    unmatched: list[tuple[str, str, str]] = []
    for scope, method, path in doc_endpoint_scopes(root=root):
        key = doc_operation_match(operations=operations, method=method, path=path)
        if key is None:
            unmatched.append((scope, method, path))
        elif scope not in found.setdefault(key, []):
            found[key].append(scope)
    return found, unmatched
