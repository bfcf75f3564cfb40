"""Reading the project's copy of HighLevel's OpenAPI files and resolving their ``$ref``s.

The specs live in ``specs/highlevel/`` (setting ``GHL_SPEC_DIR`` overrides it for tests). They are
not strictly valid OpenAPI 3 (see ``specs/highlevel/README.md``), so we read them as plain JSON and
resolve references ourselves: local ``#/components/...`` and ``../common/common-schemas.json#...``.
"""

import json
from pathlib import Path
from typing import Any

from django.conf import settings

from portal.errors import PortalError

SPEC_FILE_COUNT = 41  # apps/*.json in HighLevel's docs repository; fewer means a broken copy


# An OpenAPI document or any part of it, as read from JSON.
SpecDoc = dict[str, Any]


class SpecError(PortalError):
    """The spec copy is missing, unreadable or not what the portal expects."""


def spec_dir() -> Path:
    default = Path(settings.BASE_DIR) / "specs" / "highlevel"
    return Path(getattr(settings, "GHL_SPEC_DIR", default))


def spec_files_read(
    *, root: Path | str | None = None, any_count: bool = False
) -> tuple[dict[str, SpecDoc], SpecDoc]:
    """Return ``({file name: document}, common document)``; raise SpecError naming the bad file.
    ``any_count`` reads a copy with another number of files (a newer release, for spec_diff)."""
    root = Path(root or spec_dir())
    apps_dir = root / "apps"
    if not apps_dir.is_dir():
        raise SpecError(f"HighLevel spec folder {apps_dir} is missing.")
    docs: dict[str, SpecDoc] = {}
    for path in sorted(apps_dir.glob("*.json")):
        docs[path.name] = _json_read(path)
        if not isinstance(docs[path.name].get("paths"), dict):
            raise SpecError(f"{path} has no 'paths' object: not an OpenAPI file.")
    if len(docs) != SPEC_FILE_COUNT and not any_count:
        raise SpecError(
            f"{apps_dir} holds {len(docs)} spec files, expected {SPEC_FILE_COUNT}: "
            "restore the copy from HighLevel's docs."
        )
    common = _json_read(root / "common" / "common-schemas.json")
    return docs, common


def _json_read(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise SpecError(f"HighLevel spec file {path} is missing.") from None
    except (OSError, ValueError) as exc:
        raise SpecError(f"HighLevel spec file {path} is not readable JSON: {exc}") from None


class RefResolver:
    """Inline ``$ref``s of one spec file into self-contained schemas.

    Recursive schemas are cut at the second visit of a reference (replaced by ``{}``, which
    accepts anything), and references the spec cannot resolve (two in links.json, listed in
    ``specs/highlevel/DEFECTS.md``) become ``{}`` too and are recorded in ``unresolved``.
    """

    def __init__(self, doc: SpecDoc, common: SpecDoc) -> None:
        self.docs = {"": doc, "../common/common-schemas.json": common}
        self.unresolved: set[str] = set()

    def resolve(self, node: Any, *, base: str = "", seen: tuple[tuple[str, str], ...] = ()) -> Any:
        if isinstance(node, list):
            return [self.resolve(item, base=base, seen=seen) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            file_part, _, pointer = ref.partition("#")
            target_base = file_part or base
            key = (target_base, pointer)
            if key in seen:
                return {}
            target = self._lookup(target_base, pointer)
            if target is None:
                self.unresolved.add(ref)
                return {}
            return self.resolve(target, base=target_base, seen=seen + (key,))
        return schema_repair({k: self.resolve(v, base=base, seen=seen) for k, v in node.items()})

    def _lookup(self, base: str, pointer: str) -> Any:
        node: Any = self.docs.get(base)
        for part in pointer.strip("/").split("/") if pointer else []:
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node


def schema_items_untyped_arrays(node: dict[str, Any]) -> bool:
    """Defect 20: an array whose items are arrays without ``items`` (HighLevel sends objects,
    e.g. the location task search's ``tasks``)."""
    items = node.get("items")
    return (
        node.get("type") == "array"
        and isinstance(items, dict)
        and items.get("type") == "array"
        and "items" not in items
    )


def schema_object_typed_string(node: dict[str, Any]) -> bool:
    """Defect 21: ``type: object`` without properties and with a plain string example (calendar
    event times, association labels: HighLevel sends the string). An example written as an
    object literal (``"{ id: ... }"``) is an object."""
    example = node.get("example")
    return (
        node.get("type") == "object"
        and "properties" not in node
        and isinstance(example, str)
        and not example.lstrip().startswith("{")
    )


def schema_repair(node: dict[str, Any]) -> dict[str, Any]:
    """Read a schema node as HighLevel answers, where the spec's type cannot hold what it sends
    (specs/highlevel/DEFECTS.md 20 and 21; the sandbox, which imports nothing of the portal,
    repairs the same two in ``sandbox/spec/schemas.py``): items of untyped arrays become any,
    and the ``object`` type of a string is dropped."""
    if schema_items_untyped_arrays(node):
        node = {**node, "items": {}}
    if schema_object_typed_string(node):
        node = {k: v for k, v in node.items() if k != "type"}
    return node
