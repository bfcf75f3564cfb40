"""The registry: every operation of HighLevel's official specs, as data.

Operations are keyed by ``"METHOD /path"`` exactly as the spec writes the path, e.g.
``"GET /contacts/{contactId}"`` or ``"POST /contacts/"`` (trailing slash kept). That key is the one
way to name an operation across the portal: the spec's ``operationId`` is not unique (contacts'
"Update Contacts Tags" is also called ``create-association``).

The registry is read once per process (``registry()``), and the ``catalog.E001`` system check reads
it at start-up so a missing or broken spec copy stops ``runserver``/``migrate`` with a clear error.
"""

import dataclasses
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrations.catalog.paging import Paging, paging_detect
from integrations.catalog.privilege import Privilege, operation_privilege
from integrations.catalog.spec_files import RefResolver, SpecDoc, SpecError, spec_files_read
from integrations.ghl.retry import operation_retry_safe

OPERATION_COUNT = 576
METHODS = ("get", "post", "put", "patch", "delete")

LOCATION = "location"
AGENCY = "agency"
EITHER = "location_or_agency"
NO_TOKEN = "none"  # noqa: S105 (an access type, not a secret)
ACCESS_TYPES = (LOCATION, AGENCY, EITHER, NO_TOKEN)

# Headers the door sets itself: never asked for in forms.
DOOR_HEADERS = {"version", "authorization"}


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # "path", "query" or "header"
    required: bool
    schema: SpecDoc
    description: str = ""


@dataclass(frozen=True)
class Operation:
    key: str
    operation_id: str
    source: str
    tag: str
    summary: str
    method: str
    path: str
    params: tuple["Param", ...]
    body_schema: SpecDoc | None
    body_required: bool
    body_content_type: str
    scopes: tuple[
        str, ...
    ]  # the union of the spec's security and docs/oauth/Scopes.md: any one suffices
    access: str
    version: str
    deprecated: bool
    paging: Paging
    response_schema: SpecDoc | None = field(default=None, compare=False, repr=False)
    unresolved_refs: tuple[str, ...] = ()

    @property
    def retry_safe(self) -> bool:
        """May it be sent again after its answer was lost? (:mod:`integrations.ghl.retry`)"""
        return operation_retry_safe(method=self.method, path=self.path)

    @property
    def privilege(self) -> "Privilege":
        """Its least-privilege class and the permission sending it needs (:mod:`.privilege`)."""
        return operation_privilege(self)

    def params_in(self, location: str) -> list[Param]:
        return [p for p in self.params if p.location == location]

    @property
    def form_params(self) -> list[Param]:
        return [p for p in self.params if p.name.lower() not in DOOR_HEADERS]


def key_make(method: str, path: str) -> str:
    return f"{method.upper()} {path}"


def access_type(*, scheme_names: Iterable[str], schemes: SpecDoc) -> str:
    """Location or agency token, from the security schemes an operation accepts.

    HighLevel names its schemes ``Location-Access(-Only)`` and ``Agency-Access(-Only)``; plain
    ``bearer`` is described per file ("...user type as Sub-Account" in all but one).
    """
    kinds: set[str] = set()
    for name in scheme_names:
        description = (schemes.get(name) or {}).get("description", "")
        if name.startswith("Agency") or (name == "bearer" and "Agency" in description):
            kinds.add(AGENCY)
        else:
            kinds.add(LOCATION)
    if not kinds:
        return NO_TOKEN
    return EITHER if len(kinds) == 2 else kinds.pop()


def operation_build(
    *, source: str, path: str, method: str, raw: SpecDoc, doc: SpecDoc, resolver: RefResolver
) -> Operation:
    schemes = doc.get("components", {}).get("securitySchemes", {})
    security = raw.get("security") or []
    scheme_names = [name for req in security for name in req]
    scopes = sorted({scope for req in security for scopes in req.values() for scope in scopes})
    params: list[Param] = []
    version = ""
    for raw_param in resolver.resolve(raw.get("parameters") or []):
        schema = raw_param.get("schema") or {}
        if raw_param["in"] == "header" and raw_param["name"] == "Version":
            version = (schema.get("enum") or [schema.get("default", "")])[0]
        params.append(
            Param(
                name=raw_param["name"],
                location=raw_param["in"],
                required=bool(raw_param.get("required")) or raw_param["in"] == "path",
                schema=schema,
                description=raw_param.get("description") or "",
            )
        )
    declared = {p.name for p in params if p.location == "path"}
    for name in re.findall(r"{(\w+)}", path):
        if name not in declared:  # e.g. GET /conversations/messages/email/{id} declares none
            params.append(
                Param(name=name, location="path", required=True, schema={"type": "string"})
            )
    body_schema: SpecDoc | None = None
    content_type = ""
    body = resolver.resolve(raw.get("requestBody") or {})
    if body.get("content"):
        content_type = next(iter(body["content"]))
        body_schema = body["content"][content_type].get("schema") or {}
    responses = raw.get("responses") or {}
    ok: Any = next((responses[c] for c in ("200", "201") if c in responses), {})
    response_schema = resolver.resolve(
        (ok.get("content") or {}).get("application/json", {}).get("schema")
    )
    key = key_make(method, path)
    return Operation(
        key=key,
        operation_id=raw.get("operationId") or "",
        source=source,
        tag=(raw.get("tags") or [""])[0],
        summary=raw.get("summary") or "",
        method=method.upper(),
        path=path,
        params=tuple(params),
        body_schema=body_schema,
        body_required=bool(body.get("required")),
        body_content_type=content_type,
        scopes=tuple(scopes),
        access=access_type(scheme_names=scheme_names, schemes=schemes),
        version=version,
        deprecated=bool(raw.get("deprecated")),
        paging=paging_detect(
            key=key,
            query_names=[p.name for p in params if p.location == "query"],
            body_names=list(((body_schema or {}).get("properties") or {}).keys()),
        ),
        response_schema=response_schema,
        unresolved_refs=tuple(sorted(resolver.unresolved)),
    )


def registry_load(*, root: Path | None = None, any_count: bool = False) -> dict[str, Operation]:
    """Read every spec file and return ``{key: Operation}``; raise SpecError when broken.
    ``any_count``: a copy with another number of spec files is read too (spec_diff)."""
    docs, common = spec_files_read(root=root, any_count=any_count)
    operations: dict[str, Operation] = {}
    for source, doc in docs.items():
        for path, item in doc["paths"].items():
            for method in METHODS:
                if method not in item:
                    continue
                resolver = RefResolver(doc, common)
                try:
                    op = operation_build(
                        source=source,
                        path=path,
                        method=method,
                        raw=item[method],
                        doc=doc,
                        resolver=resolver,
                    )
                except (KeyError, TypeError, AttributeError) as exc:
                    raise SpecError(
                        f"{source}: {method.upper()} {path} is malformed ({exc!r})."
                    ) from exc
                if op.key in operations:
                    raise SpecError(
                        f"{source}: {op.key} is also defined in {operations[op.key].source}."
                    )
                operations[op.key] = op
    return scopes_doc_apply(operations, root=root)


def scopes_doc_apply(
    operations: dict[str, Operation], *, root: Path | None = None
) -> dict[str, Operation]:
    """Add the scopes docs/oauth/Scopes.md names for each operation to the spec's."""
    from integrations.catalog.scopes_doc import scopes_union

    found, _unmatched = scopes_union(operations, root=root)
    for key, scopes in found.items():
        op = operations[key]
        merged = tuple(sorted(set(op.scopes) | set(scopes)))
        if merged != op.scopes:
            operations[key] = dataclasses.replace(op, scopes=merged)
    return operations


@functools.cache
def registry() -> dict[str, Operation]:
    """The process-wide registry (read once)."""
    operations = registry_load()
    if len(operations) != OPERATION_COUNT:
        raise SpecError(
            f"The HighLevel specs hold {len(operations)} operations, expected {OPERATION_COUNT}."
        )
    return operations


def operation_get(key: str) -> Operation:
    """The operation for ``"METHOD /path"``; KeyError with a hint when unknown."""
    ops = registry()
    method, _, path = key.strip().partition(" ")
    normal = key_make(method, path.strip())
    if normal in ops:
        return ops[normal]
    raise KeyError(f"Unknown HighLevel operation {key!r}: use 'METHOD /path' as in the spec.")
