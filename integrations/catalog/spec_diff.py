"""What changed between two copies of HighLevel's specs, for an upgrade of `specs/highlevel/`.

:func:`spec_diff` compares two spec directories (each holding ``apps/``, ``common/`` and
``docs/oauth/Scopes.md``, as the project's copy does) operation by operation, keyed by method and
path: operations removed and added, and for the rest a changed ``Version`` header, a new
deprecation, newly required query/path/header parameters or body properties, a body that became
required, and changed scopes. Each finding names what uses the operation (``uses``: the catalog's
named operations, the flow templates and mappings, the subscriptions), so an upgrade can be judged
by what it breaks. :func:`spec_fingerprint` identifies a copy by its content.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from integrations.catalog.registry import Operation, registry_load

FINGERPRINTED = ("apps", "common", "docs")


@dataclass(frozen=True)
class OperationChange:
    key: str
    kind: str  # "removed", "added", "version", "deprecated", "required", "scopes"
    detail: str
    used_by: tuple[str, ...] = ()


@dataclass
class SpecDiff:
    old_count: int
    new_count: int
    changes: list[OperationChange] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[OperationChange]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def breaking_used(self) -> list[OperationChange]:
        """Changes that can break something the portal uses (everything but additions)."""
        return [c for c in self.changes if c.used_by and c.kind != "added"]


def _required_body_fields(op: Operation) -> set[str]:
    schema = op.body_schema or {}
    required = schema.get("required")
    return {str(name) for name in required or ()}


def _required_params(op: Operation) -> set[str]:
    return {f"{p.location} {p.name}" for p in op.form_params if p.required}


def _compared(old: Operation, new: Operation) -> list[tuple[str, str]]:
    found = []
    if old.version != new.version:
        found.append(("version", f"Version {old.version or '(none)'} → {new.version or '(none)'}"))
    if new.deprecated and not old.deprecated:
        found.append(("deprecated", "now deprecated"))
    params = sorted(_required_params(new) - _required_params(old))
    if params:
        found.append(("required", "new required parameter(s): " + ", ".join(params)))
    body = sorted(_required_body_fields(new) - _required_body_fields(old))
    if body:
        found.append(("required", "new required body field(s): " + ", ".join(body)))
    if new.body_required and not old.body_required:
        found.append(("required", "the request body is now required"))
    if set(old.scopes) != set(new.scopes):
        gone = sorted(set(old.scopes) - set(new.scopes))
        added = sorted(set(new.scopes) - set(old.scopes))
        found.append(("scopes", f"scopes: removed {gone or 'none'}, added {added or 'none'}"))
    return found


def spec_diff(
    *, old_dir: Path, new_dir: Path, uses: Mapping[str, Sequence[str]] | None = None
) -> SpecDiff:
    """Compare the specs in ``old_dir`` with those in ``new_dir``; ``uses`` maps an operation's
    key ("METHOD /path") to what uses it. Raises SpecError when either copy cannot be read."""
    uses = uses or {}
    old = registry_load(root=Path(old_dir), any_count=True)
    new = registry_load(root=Path(new_dir), any_count=True)
    diff = SpecDiff(old_count=len(old), new_count=len(new))

    def add(key: str, kind: str, detail: str) -> None:
        diff.changes.append(OperationChange(key, kind, detail, tuple(uses.get(key, ()))))

    for key in sorted(old.keys() - new.keys()):
        add(key, "removed", f"removed (was {old[key].operation_id} in {old[key].source})")
    for key in sorted(new.keys() - old.keys()):
        add(key, "added", f"new ({new[key].operation_id} in {new[key].source})")
    for key in sorted(old.keys() & new.keys()):
        for kind, detail in _compared(old[key], new[key]):
            add(key, kind, detail)
    return diff


def spec_fingerprint(*, root: Path) -> str:
    """SHA-256 over every file of the copy (``apps``, ``common``, ``docs``), by relative path."""
    digest = hashlib.sha256()
    for part in FINGERPRINTED:
        for path in sorted(p for p in (Path(root) / part).rglob("*") if p.is_file()):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
