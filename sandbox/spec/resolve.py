"""Inline every ``$ref`` of a spec file so each schema is a plain, self-contained dict.

The specs point at ``../common/common-schemas.json`` and at their own ``#/components``; links.json
points at two local names it never defines (see specs/highlevel/DEFECTS.md), which we resolve from
the common schemas as HighLevel evidently meant. A recursive schema is cut at its second visit
(an empty schema there accepts anything), which no HighLevel spec needs today.
"""

import json
from functools import cache
from pathlib import Path

from django.conf import settings

SPEC_DIR = Path(settings.BASE_DIR) / "specs" / "highlevel"
COMMON_PREFIX = "../common/common-schemas.json#/components/schemas/"
LOCAL_PREFIX = "#/components/schemas/"


@cache
def common_schemas() -> dict:
    with open(SPEC_DIR / "common" / "common-schemas.json", encoding="utf-8") as fh:
        return json.load(fh)["components"]["schemas"]


class Resolver:
    """Resolves refs of one spec file, remembering which names it had to borrow (defects)."""

    def __init__(self, *, document: dict, spec_file: str):
        self.spec_file = spec_file
        self.local = document.get("components", {}).get("schemas", {})
        self.borrowed: set[str] = set()
        self._done: dict[str, dict] = {}

    def target(self, ref: str) -> tuple[str, dict]:
        if ref.startswith(COMMON_PREFIX):
            name = ref[len(COMMON_PREFIX) :]
            return "common:" + name, common_schemas()[name]
        if ref.startswith(LOCAL_PREFIX):
            name = ref[len(LOCAL_PREFIX) :]
            if name in self.local:
                return name, self.local[name]
            if name in common_schemas():  # defect: links.json's dangling refs
                self.borrowed.add(name)
                return "common:" + name, common_schemas()[name]
        raise KeyError(f"{self.spec_file}: unresolvable $ref {ref}")

    def resolve(self, node, _stack=()):
        if isinstance(node, list):
            return [self.resolve(item, _stack) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            key, target = self.target(node["$ref"])
            if key in _stack:
                return {}
            if key not in self._done:
                self._done[key] = self.resolve(target, _stack + (key,))
            return self._done[key]
        return {k: self.resolve(v, _stack) for k, v in node.items()}
