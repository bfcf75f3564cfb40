"""The door's per-request SQL, each statement built once per database and shape.

Every request to HighLevel reads its connection (with its app, location and agency: the status
and tokens may change under it), takes a send from the rate-limit bucket (a locked read and a
write) and writes one sync-log row. Through the ORM, or a builder run on every call, composing
that SQL cost more than the database's own work; here a statement is composed on first use from
the models' metadata only (table and column names quoted by the backend, never taken from input:
a name that is not one of the model's concrete fields or foreign keys is refused) and kept, and
each call only prepares its values as the fields prepare them and executes it.
"""

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from django.db import connections, models, router
from django.utils import timezone

from portal.bulk import column_quote, model_field, value_preparer

M = TypeVar("M", bound=models.Model)
AnyField: TypeAlias = "models.Field[Any, Any]"
Converter = tuple[Callable[[Any, Any, Any], Any], Any]  # (convert, the column it converts)
Preparer = Callable[[Any], Any]


@dataclass(frozen=True)
class _Part:
    """One table of a SELECT: its model, the foreign key that reached it (none for the main
    row), and each selected field's attname and converters."""

    model: type[models.Model]
    via: "models.ForeignKey[Any, Any] | None"
    attnames: tuple[str, ...]
    converters: tuple[tuple[Converter, ...], ...]


@dataclass(frozen=True)
class _Select:
    sql: str
    by: AnyField
    parts: tuple[_Part, ...]


@dataclass(frozen=True)
class _Write:
    sql: str
    preparers: tuple[Preparer, ...]
    now: tuple[int, ...] = ()  # positions filled with the time of the write (auto_now fields)


@dataclass(frozen=True)
class Prepared:
    """A value already prepared for the database (:func:`value_prepare`): passed as it is."""

    value: Any


_built: dict[tuple[Any, ...], Any] = {}


def _select(
    alias: str, model: type[models.Model], by: str, related: tuple[str, ...], lock: bool
) -> _Select:
    connection = connections[alias]
    key = ("select", alias, connection.vendor, model, by, related, lock)
    if (found := _built.get(key)) is not None:
        return found  # type: ignore[no-any-return]
    quote = functools.partial(column_quote, connection)
    vias: list[models.ForeignKey[Any, Any] | None] = [None]
    for name in related:
        field = model._meta.get_field(name)
        if not isinstance(field, models.ForeignKey):
            raise TypeError(f"{model.__name__}.{name} is not a foreign key.")
        vias.append(field)
    by_field = model_field(model, by)
    parts: list[_Part] = []
    columns: list[str] = []
    joins: list[str] = []
    for n, via in enumerate(vias):
        part_model: type[models.Model] = model if via is None else via.related_model
        fields = part_model._meta.concrete_fields
        table = quote(f"t{n}")
        columns += [f"{table}.{quote(field.column)}" for field in fields]
        if via is not None:
            joins.append(
                "{} {} {} ON {}.{} = {}.{}".format(
                    "LEFT OUTER JOIN" if via.null else "INNER JOIN",
                    quote(part_model._meta.db_table),
                    table,
                    table,
                    quote(via.target_field.column),
                    quote("t0"),
                    quote(via.column),
                )
            )
        converters = []
        for field in fields:
            column = field.get_col(part_model._meta.db_table)
            converting = connection.ops.get_db_converters(column)
            converting += column.get_db_converters(connection)
            converters.append(tuple((convert, column) for convert in converting))
        parts.append(
            _Part(
                model=part_model,
                via=via,
                attnames=tuple(field.attname for field in fields),
                converters=tuple(converters),
            )
        )
    sql = "SELECT {} FROM {} {} {} WHERE {}.{} = %s".format(  # noqa: S608 - names from model metadata only, quoted
        ", ".join(columns),
        quote(model._meta.db_table),
        quote("t0"),
        " ".join(joins),
        quote("t0"),
        quote(by_field.column),
    )
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE OF {}".format(quote("t0")) if related else " FOR UPDATE"
    built = _built[key] = _Select(sql=sql, by=by_field, parts=tuple(parts))
    return built


def row_get(
    *,
    model: type[M],
    value: Any,
    by: str = "pk",
    related: Sequence[str] = (),
    lock: bool = False,
) -> M | None:
    """The ``model`` row whose unique field ``by`` equals ``value`` (None when there is none),
    with the rows its foreign keys ``related`` point at cached on it as ``select_related``
    caches them. ``lock``: locked for this transaction (``FOR UPDATE`` where the database has
    it; SQLite's writing transaction holds the whole database)."""
    alias = router.db_for_write(model) if lock else router.db_for_read(model)
    if by == "pk":
        by = model._meta.pk.name
    statement = _select(alias, model, by, tuple(related), lock)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [statement.by.get_db_prep_value(value, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    main: Any = None
    start = 0
    for part in statement.parts:
        end = start + len(part.attnames)
        values = list(row[start:end])
        start = end
        for n, converters in enumerate(part.converters):
            for convert, column in converters:
                values[n] = convert(values[n], column, connection)
        pk_value = values[part.attnames.index(part.model._meta.pk.attname)]
        instance = None if pk_value is None else part.model.from_db(alias, part.attnames, values)
        if part.via is None:
            main = instance
        else:
            part.via.set_cached_value(main, instance)
    return main  # type: ignore[no-any-return]


def row_with_related(*, model: type[M], pk: Any, related: Sequence[str] = ()) -> M:
    """:func:`row_get` by primary key; raises ``model.DoesNotExist`` when there is none."""
    found = row_get(model=model, value=pk, related=related)
    if found is None:
        raise model.DoesNotExist(f"{model.__name__} matching query does not exist.")  # type: ignore[attr-defined]
    return found


def _insert(alias: str, model: type[models.Model], names: tuple[str, ...]) -> _Write:
    connection = connections[alias]
    key = ("insert", alias, connection.vendor, model, names)
    if (found := _built.get(key)) is not None:
        return found  # type: ignore[no-any-return]
    quote = functools.partial(column_quote, connection)
    given = [model_field(model, name) for name in names]
    stamped = [
        field
        for field in model._meta.concrete_fields
        if (getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
        and field not in given
    ]
    missing = [
        field.name
        for field in model._meta.concrete_fields
        if field not in given
        and field not in stamped
        and not field.primary_key
        and field.db_default is models.NOT_PROVIDED
    ]
    if missing:  # a Python-side default is the caller's to give (only the database's are left out)
        raise ValueError(f"A {model.__name__} row needs {', '.join(missing)}.")
    fields = given + stamped
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from model metadata only, quoted
        quote(model._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    built = _built[key] = _Write(
        sql=sql,
        preparers=tuple(value_preparer(field, connection) for field in fields),
        now=tuple(range(len(given), len(fields))),
    )
    return built


def row_insert(*, model: type[models.Model], values: Mapping[str, Any]) -> None:
    """INSERT one row of ``values`` (every concrete field but the primary key and the
    ``auto_now`` ones, which get the time of the write). The primary key is the database's."""
    alias = router.db_for_write(model)
    statement = _insert(alias, model, tuple(values))
    params = list(values.values())
    if statement.now:
        params += [timezone.now()] * len(statement.now)
    with connections[alias].cursor() as cursor:
        cursor.execute(
            statement.sql,
            [prepare(value) for prepare, value in zip(statement.preparers, params, strict=True)],
        )


def _update(alias: str, model: type[models.Model], names: tuple[str, ...]) -> _Write:
    connection = connections[alias]
    key = ("update", alias, connection.vendor, model, names)
    if (found := _built.get(key)) is not None:
        return found  # type: ignore[no-any-return]
    quote = functools.partial(column_quote, connection)
    fields = [model_field(model, name) for name in names]
    pk = model._meta.pk
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 - names from model metadata only, quoted
        quote(model._meta.db_table),
        ", ".join(f"{quote(field.column)} = %s" for field in fields),
        quote(pk.column),
    )
    built = _built[key] = _Write(
        sql=sql, preparers=tuple(value_preparer(field, connection) for field in fields)
    )
    return built


def row_update(*, model: type[models.Model], pk: Any, values: Mapping[str, Any]) -> None:
    """UPDATE these fields of the row ``pk`` (values may be :class:`Prepared`)."""
    alias = router.db_for_write(model)
    statement = _update(alias, model, tuple(values))
    params = [
        value.value if isinstance(value, Prepared) else prepare(value)
        for prepare, value in zip(statement.preparers, values.values(), strict=True)
    ]
    with connections[alias].cursor() as cursor:
        cursor.execute(statement.sql, [*params, pk])


def value_prepare(*, model: type[models.Model], name: str, value: Any) -> Prepared:
    """``value`` as field ``name`` of ``model`` hands it to the database (prepared once, for a
    value sent more than once: a JSON list written now and compared with later)."""
    connection = connections[router.db_for_write(model)]
    return Prepared(value_preparer(model_field(model, name), connection)(value))


def _update_if(
    alias: str, model: type[models.Model], names: tuple[str, ...], nulls: tuple[bool, ...]
) -> _Write:
    connection = connections[alias]
    key = ("update_if", alias, connection.vendor, model, names, nulls)
    if (found := _built.get(key)) is not None:
        return found  # type: ignore[no-any-return]
    quote = functools.partial(column_quote, connection)
    fields = [model_field(model, name) for name in names]
    half = len(names) - len(nulls)
    tests = [
        f"{quote(field.column)} IS NULL" if null else f"{quote(field.column)} = %s"
        for field, null in zip(fields[half:], nulls, strict=True)
    ]
    sql = "UPDATE {} SET {} WHERE {} = %s{}".format(  # noqa: S608 - names from model metadata only, quoted
        quote(model._meta.db_table),
        ", ".join(f"{quote(field.column)} = %s" for field in fields[:half]),
        quote(model._meta.pk.column),
        "".join(f" AND {test}" for test in tests),
    )
    built = _built[key] = _Write(
        sql=sql, preparers=tuple(value_preparer(field, connection) for field in fields)
    )
    return built


def row_update_if(
    *, model: type[models.Model], pk: Any, values: Mapping[str, Any], expected: Mapping[str, Any]
) -> bool:
    """UPDATE these fields of the row ``pk`` only if its fields ``expected`` still hold those
    values (None: NULL), in one statement: True when it did. A compare-and-set: the database
    checks and writes atomically, so no lock is held and no read comes first. Values may be
    :class:`Prepared`."""
    alias = router.db_for_write(model)
    nulls = tuple(value is None for value in expected.values())
    statement = _update_if(alias, model, (*values, *expected), nulls)
    params: list[Any] = []
    given = [*values.values(), *expected.values()]
    for prepare, value, null in zip(
        statement.preparers, given, (False,) * len(values) + nulls, strict=True
    ):
        if not null:
            params.append(value.value if isinstance(value, Prepared) else prepare(value))
    params.insert(len(values), pk)
    with connections[alias].cursor() as cursor:
        cursor.execute(statement.sql, params)
        return bool(cursor.rowcount == 1)
