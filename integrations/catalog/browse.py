"""The operations browser's data: each registry operation with its named entries, filtered."""

from dataclasses import dataclass

from integrations.catalog.named import named_all
from integrations.catalog.registry import registry

UNNAMED = "unnamed"  # kind/category filter value: operations the named catalog does not list


@dataclass(frozen=True)
class Row:
    operation: object
    named: tuple  # NamedOperation entries mapped to this operation

    @property
    def names(self):
        return ", ".join(n.name for n in self.named)

    @property
    def categories(self):
        return sorted({n.category for n in self.named})

    @property
    def kinds(self):
        return sorted({n.kind for n in self.named})


def rows_all():
    by_key = {}
    for named in named_all():
        by_key.setdefault(named.key, []).append(named)
    return [Row(op, tuple(by_key.get(key, ()))) for key, op in registry().items()]


def rows_filter(*, q="", category="", kind="", scope="", access="", deprecated="", source=""):
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


def _matches(wanted, values, named):
    return (not named) if wanted == UNNAMED else wanted in values


def filter_choices():
    ops = registry().values()
    return {
        "scope": sorted({s for op in ops for s in op.scopes}),
        "source": sorted({op.source for op in ops}),
    }
