"""The registry of HighLevel operations, read from specs/highlevel/apps/*.json once per process.

Operations are keyed by (method, path template): operationIds repeat across files. Routing is a
dict lookup by (method, segment count, first segment) followed by a segment-wise comparison over
the few candidates, literal segments winning over parameters (``/contacts/search`` before
``/contacts/{contactId}``).
"""

import json
import threading
from dataclasses import dataclass, field

from sandbox.spec.resolve import SPEC_DIR, Resolver
from sandbox.spec.schemas import clean

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # path | query | header
    required: bool
    schema: dict


@dataclass
class Operation:
    method: str  # upper case
    path: str  # template as in the spec, e.g. /contacts/{contactId}
    operation_id: str
    spec_file: str  # e.g. contacts.json
    summary: str
    scopes: list[str]
    security_schemes: list[str]
    security: list[dict]  # the spec's raw ``security`` list (the gate reads token types from it)
    params: list[Param]
    body_required: bool
    body_schemas: dict[str, dict]  # content type -> schema
    responses: dict[int, dict | None]  # status -> schema (None: the spec gives none)
    segments: tuple = field(repr=False, default=())
    doc_scopes: list[str] = field(default_factory=list)  # what Scopes.md names for it

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    @property
    def success_status(self) -> int:
        codes = sorted(code for code in self.responses if 200 <= code < 300)
        return codes[0] if codes else 200

    @property
    def path_param_names(self) -> list[str]:
        return [s[1:-1] for s in self.segments if s.startswith("{")]


def split_path(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.split("/") if s)


def _security(path: str, raw: dict) -> list[dict]:
    """The spec's ``security``; where it is missing (a defect, DEFECTS.md) any bearer token is
    required, as HighLevel does, except on the token endpoint itself."""
    if "security" in raw:
        return raw["security"]
    return [] if path.startswith("/oauth/token") else [{"bearer": []}]


def _operation(*, method, path, raw, resolver, spec_file) -> Operation:
    params = []
    for p in raw.get("parameters", []):
        params.append(
            Param(
                name=p["name"],
                location=p["in"],
                required=bool(p.get("required")),
                schema=clean(resolver.resolve(p.get("schema", {}))),
            )
        )
    body = raw.get("requestBody") or {}
    body_schemas = {
        ctype: clean(resolver.resolve(media.get("schema", {})))
        for ctype, media in body.get("content", {}).items()
    }
    responses = {}
    for code, resp in raw.get("responses", {}).items():
        if not code.isdigit():
            continue
        media = (resp.get("content") or {}).get("application/json")
        schema = media.get("schema") if media else None
        responses[int(code)] = clean(resolver.resolve(schema)) if schema else None
    scopes, schemes = [], []
    for requirement in raw.get("security", []):
        for scheme, names in requirement.items():
            schemes.append(scheme)
            scopes += [n for n in names if n not in scopes]
    return Operation(
        method=method.upper(),
        path=path,
        operation_id=raw.get("operationId", ""),
        spec_file=spec_file,
        summary=raw.get("summary", ""),
        scopes=scopes,
        security_schemes=schemes,
        security=_security(path, raw),
        params=params,
        body_required=bool(body.get("required")),
        body_schemas=body_schemas,
        responses=responses,
        segments=split_path(path),
    )


class Registry:
    def __init__(self, operations: list[Operation], borrowed: dict[str, set[str]]):
        self.operations = operations
        self.by_key = {op.key: op for op in operations}
        self.borrowed_refs = borrowed  # spec file -> names resolved from common (defects)
        self.doc_unmatched: list = []  # Scopes.md rows naming no operation of the specs
        self._index: dict[tuple, list[Operation]] = {}
        for op in operations:
            first = op.segments[0] if op.segments else ""
            self._index.setdefault((op.method, len(op.segments), first), []).append(op)
        for ops in self._index.values():
            ops.sort(key=lambda o: tuple(s.startswith("{") for s in o.segments))

    def route(self, method: str, path: str) -> tuple[Operation | None, dict[str, str]]:
        """The operation for a concrete request path, and its path parameters."""
        segments = split_path(path)
        first = segments[0] if segments else ""
        for op in self._index.get((method, len(segments), first), ()):
            params = {}
            for want, got in zip(op.segments, segments, strict=True):
                if want.startswith("{"):
                    params[want[1:-1]] = got
                elif want != got:
                    break
            else:
                return op, params
        return None, {}

    def path_exists(self, path: str) -> bool:
        return any(self.route(m.upper(), path)[0] for m in METHODS)


def registry_load() -> Registry:
    operations, borrowed = [], {}
    for spec_path in sorted((SPEC_DIR / "apps").glob("*.json")):
        with open(spec_path, encoding="utf-8") as fh:
            document = json.load(fh)
        resolver = Resolver(document=document, spec_file=spec_path.name)
        for path, item in document.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    operations.append(
                        _operation(
                            method=method,
                            path=path,
                            raw=item[method],
                            resolver=resolver,
                            spec_file=spec_path.name,
                        )
                    )
        if resolver.borrowed:
            borrowed[spec_path.name] = resolver.borrowed
    registry = Registry(operations, borrowed)
    scopes_doc_merge(registry)
    return registry


def scopes_doc_merge(registry: Registry) -> None:
    """Each operation's scopes become the union of its spec ``security`` and Scopes.md (the docs
    bind as much as the specs; DEFECTS.md lists where they differ). Holding any one suffices."""
    from sandbox.spec.scopes_doc import doc_scopes_route

    found, registry.doc_unmatched = doc_scopes_route(registry.route)
    for key, scopes in found.items():
        op = registry.by_key[key]
        op.doc_scopes = scopes
        op.scopes += [s for s in scopes if s not in op.scopes]


_lock = threading.Lock()
_registry: Registry | None = None


def registry_get() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _registry  # noqa: PLW0603 (a lazy process-wide singleton, filled once under the lock)
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = registry_load()
    return _registry
