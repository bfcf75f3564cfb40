"""The endpoint scopes of docs/oauth/Scopes.md, which bind as much as the specs' ``security``.

The table names one scope per endpoint ("GET /courses/:id" style paths, sometimes without the
leading slash or with a trailing one); continuation rows leave the scope cell ``&nbsp;``. Each
row is routed to the spec operation it names (path parameters match any segment); rows that
name no operation of the specs are returned in ``unmatched`` (listed in DEFECTS.md).
"""

import re
from dataclasses import dataclass
from functools import cache

from sandbox.spec.resolve import SPEC_DIR

SCOPES_DOC = SPEC_DIR / "docs" / "oauth" / "Scopes.md"
_ENDPOINT = re.compile(r"^(GET|POST|PUT|PATCH|DELETE)\s+(\S+)$")


@dataclass(frozen=True)
class DocScope:
    scope: str
    method: str
    path: str  # in the spec's template style: /courses/{id}


@cache
def doc_scope_rows() -> tuple[DocScope, ...]:
    rows, scope = [], ""
    for line in SCOPES_DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        cells = [
            c.strip().replace("&nbsp;", "").strip() for c in line.strip().strip("|").split("|")
        ]
        if len(cells) < 2 or cells[0] == "Scope":
            continue
        scope = cells[0] or scope
        match = _ENDPOINT.match(cells[1])
        if scope and match:
            path = "/" + re.sub(r":(\w+)", r"{\1}", match.group(2)).lstrip("/")
            rows.append(DocScope(scope=scope, method=match.group(1), path=path))
    return tuple(rows)


def doc_scopes_all() -> set[str]:
    """Every scope the table names (with or without an endpoint of the specs)."""
    return {row.scope for row in doc_scope_rows()}


def doc_scopes_route(route) -> tuple[dict, list]:
    """({operation key: [doc scopes]}, [rows naming no operation]) using ``route(method, path)``."""
    found, unmatched = {}, []
    for row in doc_scope_rows():
        op = None
        for path in (row.path, row.path.rstrip("/") + "/", row.path.rstrip("/")):
            op, _ = route(row.method, path)
            if op is not None:
                break
        if op is None:
            unmatched.append(row)
            continue
        scopes = found.setdefault(op.key, [])
        if row.scope not in scopes:
            scopes.append(row.scope)
    return found, unmatched
