"""The operations browser's data: each registry operation with its named entries, filtered."""

from dataclasses import dataclass

from integrations.catalog.named import NamedOperation, named_all
from integrations.catalog.registry import Operation, registry

UNNAMED = "unnamed"  # kind/category filter value: operations the named catalog does not list


@dataclass(frozen=True)
class Row:
    operation: Operation
    named: tuple[NamedOperation, ...]  # the named entries mapped to this operation

    @property
    def names(self) -> str:
        return ", ".join(n.name for n in self.named)

    @property
    def categories(self) -> list[str]:
        return sorted({n.category for n in self.named})

    @property
    def kinds(self) -> list[str]:
        return sorted({n.kind for n in self.named})


def rows_all() -> list[Row]:
    by_key: dict[str, list[NamedOperation]] = {}
    for named in named_all():
        by_key.setdefault(named.key, []).append(named)
    return [Row(op, tuple(by_key.get(key, ()))) for key, op in registry().items()]


def rows_filter(
    *,
    q: str = "",
    category: str = "",
    kind: str = "",
    scope: str = "",
    access: str = "",
    deprecated: str = "",
    source: str = "",
) -> list[Row]:
    """Rows matching every given filter; ``q`` searches names, path, key, operation id, summary.

    Every word of ``q`` must appear somewhere, in any order ("courses import" finds
    "Import Courses").
    """
    words = q.lower().split()
    found = []
    for row in rows_all():
        op = row.operation
        if words:
            haystack = " ".join((op.key, op.operation_id, op.summary or "", row.names)).lower()
            if not all(word in haystack for word in words):
                continue
        if category and not _matches(category, row.categories, row.named):
            continue
        if kind and not _matches(kind, row.kinds, row.named):
            continue
        if scope and scope not in op.scopes:
            continue
        if access and op.access != access:
            continue
        if deprecated in ("yes", "no") and op.deprecated != (deprecated == "yes"):
            continue
        if source and op.source != source:
            continue
        found.append(row)
    return found


def _matches(wanted: str, values: list[str], named: tuple[NamedOperation, ...]) -> bool:
    return (not named) if wanted == UNNAMED else wanted in values


def filter_choices() -> dict[str, list[str]]:
    ops = registry().values()
    return {
        "scope": sorted({s for op in ops for s in op.scopes}),
        "source": sorted({op.source for op in ops}),
    }
