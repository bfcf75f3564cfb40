"""Hot reads compiled once: the queries every API request makes (its token, its page of rows).

Compiling an ORM query costs more than running it on a small indexed table. :func:`rows_of` asks
the ORM for a query's SQL once per shape and thread (names from model metadata, every value a
parameter), remembers which parameters were the caller's, and from then on binds the new values,
executes, and converts the columns with the ORM's own converters. A query whose values the ORM
rewrites (``icontains`` wraps them in ``%``) is not reusable: it is run through the ORM each time.
"""

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler

_local = threading.local()  # a compiler holds its thread's connection: one cache per thread
MAX_SHAPES = 256  # per thread; shapes are few, but a slice's bounds are part of one


@dataclass(frozen=True)
class _Compiled:
    compiler: SQLCompiler
    sql: str
    params: tuple  # the values the query always has, None where a caller's value goes
    slots: tuple  # for each parameter: the index of the caller's value, or None


def _marker(n: int, value: object) -> object:
    """A stand-in for the ``n``-th value that no real one equals: a string or an integer."""
    if isinstance(value, int) and not isinstance(value, bool):
        return -(10**15) - n
    return f"\x00sandbox-query-value-{n}\x00"


def _compile(build: Callable[..., QuerySet], values: Sequence[object]) -> _Compiled | None:
    markers = [_marker(n, value) for n, value in enumerate(values)]
    count = len(markers)
    queryset = build(*markers)
    compiler = queryset.query.get_compiler(queryset.db)
    sql, params = compiler.as_sql()
    slots = tuple(
        markers.index(p) if type(p) in (str, int) and p in markers else None for p in params
    )
    if sorted(s for s in slots if s is not None) != list(range(count)):
        return None  # a value was rewritten or repeated: not safely rebindable
    fixed = tuple(None if s is not None else p for p, s in zip(params, slots, strict=True))
    return _Compiled(compiler=compiler, sql=sql, params=fixed, slots=slots)


def rows_of(
    shape: Hashable, build: Callable[..., QuerySet], values: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """The rows of ``build(*values)``, a ``values_list`` query over plain fields whose string or
    integer ``values`` the ORM passes through unchanged. ``shape`` names the query: the same
    shape must always build the same SQL around its values (a slice's bounds are part of it)."""
    cache: dict = _local.__dict__.setdefault("compiled", {})
    key = (shape, tuple(type(v) for v in values))
    if key not in cache:
        if len(cache) >= MAX_SHAPES:
            cache.clear()
        cache[key] = _compile(build, values)
    compiled = cache[key]
    if compiled is None:
        return [tuple(row) for row in build(*values)]
    params = [
        values[slot] if slot is not None else fixed
        for fixed, slot in zip(compiled.params, compiled.slots, strict=True)
    ]
    compiler = compiled.compiler
    with connections[compiler.using].cursor() as cursor:
        cursor.execute(compiled.sql, params)
        fetched = [row[: compiler.col_count] for row in cursor.fetchall()]
    return [tuple(row) for row in compiler.results_iter(results=[fetched])]
