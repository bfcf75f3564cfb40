"""The door's per-request read: a row with its related rows by one statement built once.

Every request to HighLevel reads its connection afresh with its app, location and agency (the
status and tokens may change under it: a disconnect, another worker's refresh). Through the ORM
that read compiled a four-table query on every request, which cost more than the database's own
work; here the statement is built once per database and model from the models' metadata only
(table and column names quoted by the backend, never taken from input), and each read executes
it with the primary key as its one parameter. Values are converted as the ORM converts them.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)
Converter = tuple[Callable[[Any, Any, Any], Any], Any]  # (convert, the column it converts)


@dataclass(frozen=True)
class _Part:
    """One table of the statement: its model, the foreign key that reached it (none for the
    main row), and each selected field with its converters."""

    model: type[models.Model]
    via: "models.ForeignKey[Any, Any] | None"
    attnames: tuple[str, ...]
    converters: tuple[tuple[Converter, ...], ...]


@dataclass(frozen=True)
class _Statement:
    sql: str
    parts: tuple[_Part, ...]


_built: dict[tuple[str, str, type[models.Model], tuple[str, ...]], _Statement] = {}


def _statement(alias: str, model: type[models.Model], related: tuple[str, ...]) -> _Statement:
    connection = connections[alias]
    key = (alias, connection.vendor, model, related)
    found = _built.get(key)
    if found is not None:
        return found

    def quote(name: str | None) -> str:  # a concrete field always has a column
        return str(connection.ops.quote_name(name or ""))

    vias: list[models.ForeignKey[Any, Any] | None] = [None]
    for name in related:
        field = model._meta.get_field(name)
        if not isinstance(field, models.ForeignKey):
            raise TypeError(f"{model.__name__}.{name} is not a foreign key.")
        vias.append(field)
    parts: list[_Part] = []
    columns: list[str] = []
    joins: list[str] = []
    for n, via in enumerate(vias):
        part_model: type[models.Model] = model if via is None else via.related_model
        fields = part_model._meta.concrete_fields
        alias_n = quote(f"t{n}")
        columns += [f"{alias_n}.{quote(field.column)}" for field in fields]
        if via is not None:
            joins.append(
                "{} {} {} ON {}.{} = {}.{}".format(
                    "LEFT OUTER JOIN" if via.null else "INNER JOIN",
                    quote(part_model._meta.db_table),
                    alias_n,
                    alias_n,
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
        quote(model._meta.pk.column),
    )
    built = _built[key] = _Statement(sql=sql, parts=tuple(parts))
    return built


def row_with_related(*, model: type[M], pk: Any, related: Sequence[str] = ()) -> M:
    """The ``model`` row ``pk`` with the rows its foreign keys ``related`` point at cached on it
    (as ``select_related`` gives them); raises ``model.DoesNotExist`` when there is none."""
    alias = router.db_for_read(model)
    statement = _statement(alias, model, tuple(related))
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [model._meta.pk.get_db_prep_value(pk, connection)])
        row = cursor.fetchone()
    if row is None:
        raise model.DoesNotExist(f"{model.__name__} matching query does not exist.")  # type: ignore[attr-defined]
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
