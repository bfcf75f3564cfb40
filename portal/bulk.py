"""Many rows in one statement: ``rows_insert`` and ``rows_update``.

The sync writes pages of rows; Django's ``bulk_create`` compiles SQL for every row's every value,
which costs more than the database's own work. These build one statement per call and hand all
the rows to the driver's ``executemany`` (sqlite3 steps one prepared statement; psycopg 3 pipelines
them). Table and column names come from the model's metadata only, quoted by the database
backend: a row's keys choose *which* of the model's fields are written, never what SQL is written,
and a key that names no concrete field is refused before anything is sent. Values go as
parameters, prepared by each field as Django would (``get_db_prep_save``).
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.db import connections, models, router
from django.utils import timezone

_MISSING = object()
_MAX_PARAMS = 60_000  # PostgreSQL takes at most 65,535 parameters in one statement


class BulkError(ValueError):
    """A row names something the model has no concrete field for (a programming error)."""


def _fields(model: type[models.Model]) -> dict[str, "models.Field[Any, Any]"]:
    """The model's concrete fields by attname (``location_id``) and name (``location``)."""
    found: dict[str, models.Field[Any, Any]] = {}
    for field in model._meta.concrete_fields:
        found[field.attname] = field
        found.setdefault(field.name, field)
    return found


def _field(model: type[models.Model], name: str) -> "models.Field[Any, Any]":
    field = _fields(model).get(name)
    if field is None:
        raise BulkError(f"{model.__name__} has no concrete field {name!r}.")
    return field


def _preparer(field: "models.Field[Any, Any]", connection: Any) -> Callable[[Any], Any]:
    """How one field's values become parameters: text as it is, the rest as Django prepares it."""
    plain_text = isinstance(field, (models.CharField, models.TextField)) and type(field) in (
        models.CharField,
        models.TextField,
        models.EmailField,
        models.SlugField,
        models.URLField,
    )

    def prepare(value: Any) -> Any:
        if value is None or (plain_text and type(value) is str):
            return value
        return field.get_db_prep_save(value, connection)

    return prepare


def rows_insert(
    *,
    model: type[models.Model],
    rows: Iterable[Mapping[str, Any]],
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
    ignore_conflicts: bool = False,
) -> int:
    """INSERT ``rows`` (each ``{field attname or name: value}``) with one prepared statement.

    Fields a row leaves out get the field's default (``auto_now``/``auto_now_add`` ones: now), as
    ``bulk_create`` gives them. ``ignore_conflicts`` skips rows that break a unique constraint;
    ``update`` (with ``conflict``, the unique fields) overwrites those fields of the row in the
    way instead (the rows of one upsert name each unique key once: PostgreSQL updates a row once
    per statement). Returns the number of rows sent. The primary key is the database's.
    SQLite steps one prepared statement for every row (``executemany``); on PostgreSQL, whose
    Django driver binds parameters on the client, the rows go as one multi-row statement (so
    the server parses it once, not once a row), in batches under its parameter limit.
    """
    rows = list(rows)
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    written = [
        f for f in model._meta.concrete_fields if not (f.primary_key and f.attname not in rows[0])
    ]
    known = {f.attname for f in written} | {f.name for f in written}
    for row in rows:
        for key in row:
            if key not in known:
                raise BulkError(f"{model.__name__} has no concrete field {key!r}.")
    now = timezone.now()
    columns: list[tuple[str, str, Callable[[Any], Any], Any]] = []
    for field in written:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            default: Any = now
        elif field.primary_key:
            default = _MISSING
        else:
            default = field.get_default()
        prepare = _preparer(field, connection)
        prepared_default = _MISSING if default is _MISSING else prepare(default)
        columns.append((field.attname, field.name, prepare, prepared_default))
    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({}) VALUES ".format(  # noqa: S608 - names from model metadata only, quoted
        quote(model._meta.db_table), ", ".join(quote(f.column) for f in written)
    )
    one = "({})".format(", ".join(["%s"] * len(written)))
    tail = ""
    if update:
        if not conflict:
            raise BulkError("An upsert names its unique fields (conflict=).")
        tail = " ON CONFLICT ({}) DO UPDATE SET {}".format(
            ", ".join(quote(_field(model, name).column) for name in conflict),
            ", ".join(
                "{0} = EXCLUDED.{0}".format(quote(_field(model, name).column)) for name in update
            ),
        )
    elif ignore_conflicts or conflict:
        tail = " ON CONFLICT DO NOTHING"
    params = []
    for row in rows:
        values = []
        for attname, name, prepare, prepared_default in columns:
            value = row.get(attname, _MISSING)
            if value is _MISSING:
                value = row.get(name, _MISSING)
            values.append(prepared_default if value is _MISSING else prepare(value))
        params.append(values)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":  # one prepared statement stepped for every row
            cursor.executemany(head + one + tail, params)
        else:  # Django's psycopg binds on the client: one statement of many rows, parsed once
            size = max(1, _MAX_PARAMS // len(written))
            for start in range(0, len(params), size):
                batch = params[start : start + size]
                cursor.execute(
                    head + ", ".join([one] * len(batch)) + tail,
                    [value for values in batch for value in values],
                )
    return len(rows)


def rows_update(*, model: type[models.Model], rows: Iterable[tuple[Any, Mapping[str, Any]]]) -> int:
    """UPDATE each ``(primary key, {field: value})``: one prepared statement per set of fields
    written (rows writing the same fields go together). Returns the number of rows sent."""
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    pk = model._meta.pk
    if pk is None:
        raise BulkError(f"{model.__name__} has no primary key.")
    groups: dict[tuple[str, ...], list[tuple[Any, Mapping[str, Any]]]] = {}
    for key, values in rows:
        groups.setdefault(tuple(values), []).append((key, values))
    sent = 0
    for names, group in groups.items():
        fields = [_field(model, name) for name in names]
        preparers = [_preparer(field, connection) for field in fields]
        sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 - names from model metadata only, quoted
            quote(model._meta.db_table),
            ", ".join(f"{quote(field.column)} = %s" for field in fields),
            quote(pk.column),
        )
        params = [
            [prepare(values[name]) for name, prepare in zip(names, preparers, strict=True)] + [key]
            for key, values in group
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
        sent += len(group)
    return sent


def row_locked(
    *, model: type[models.Model], by: str, value: Any, fields: Sequence[str]
) -> dict[str, Any] | None:
    """``{field: value}`` of the one row whose unique field ``by`` equals ``value``, locked for
    this transaction (``FOR UPDATE`` where the database has it; SQLite's writing transaction
    holds the whole database), or None. One prepared statement; values converted as the ORM
    converts them. For hot rows read under a lock on every request (the rate-limit bucket)."""
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table = model._meta.db_table
    chosen = [_field(model, name) for name in fields]
    key = _field(model, by)
    sql = "SELECT {} FROM {} WHERE {} = %s".format(  # noqa: S608 - names from model metadata only, quoted
        ", ".join(quote(field.column) for field in chosen), quote(table), quote(key.column)
    )
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [key.get_db_prep_value(value, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    found = {}
    for field, raw in zip(chosen, row, strict=True):
        column = field.get_col(table)
        value = raw
        for convert in connection.ops.get_db_converters(column) + column.get_db_converters(
            connection
        ):
            value = convert(value, column, connection)
        found[field.attname] = value
    return found
