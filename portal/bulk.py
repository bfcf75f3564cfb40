"""Many rows in one statement: ``rows_insert`` (``rows_insert_tuples``: the rows as tuples of
named columns, no dict a row), ``rows_update`` and ``rows_select``.

The sync writes pages of rows; Django's ``bulk_create`` compiles SQL for every row's every value,
which costs more than the database's own work. These build one statement per call and hand all
the rows to the driver's ``executemany`` (sqlite3 steps one prepared statement; psycopg 3 pipelines
them). Table and column names come from the model's metadata only, quoted by the database
backend: a row's keys choose *which* of the model's fields are written, never what SQL is written,
and a key that names no concrete field is refused before anything is sent. Values go as
parameters, prepared by each field as Django would (``get_db_prep_save``).
"""

import functools
import json
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from operator import itemgetter
from typing import Any

from django.db import connections, models, router, transaction
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils import timezone

_MISSING = object()
_JSON_PLAIN = frozenset((dict, list, str, int, float, bool))
_MAX_PARAMS = 60_000  # PostgreSQL takes at most 65,535 parameters in one statement
_COPY_FROM = 20  # rows from which PostgreSQL gets them by COPY (fewer: one INSERT ... VALUES)
_MAX_AMONG = 10_000  # values of one IN (...) list, under SQLite's 32,766 parameters
_AMONG, _AMONG_VALUE, _ROW = '"bulk__among"', '"value"', '"bulk__row"'  # rows_select's aliases
_PLAIN_TEXT = (
    models.CharField,
    models.TextField,
    models.EmailField,
    models.SlugField,
    models.URLField,
)


class BulkError(ValueError):
    """A row names something the model has no concrete field for (a programming error)."""


class JsonText(str):
    """A value for a ``JSONField`` already encoded as JSON text (e.g. the canonical text a
    fingerprint hashed): stored as it is, not encoded a second time. Only code makes one, from
    ``json.dumps``; it travels as a parameter like any value."""


class _AsIs(json.JSONEncoder):
    """The encoder Django's ``adapt_json_value`` is given for a :class:`JsonText`: its text."""

    def encode(self, o: Any) -> str:
        return str(o)


@functools.cache
def _fields(model: type[models.Model]) -> dict[str, "models.Field[Any, Any]"]:
    """The model's concrete fields by attname (``location_id``) and name (``location``), its
    primary key also as ``pk``."""
    found: dict[str, models.Field[Any, Any]] = {}
    for field in model._meta.concrete_fields:
        found[field.attname] = field
        found.setdefault(field.name, field)
    if model._meta.pk is not None:
        found.setdefault("pk", model._meta.pk)
    return found


def model_field(model: type[models.Model], name: str) -> "models.Field[Any, Any]":
    """The concrete field ``name`` (name, attname or ``pk``) of ``model``: the only way a name
    reaches SQL written here (anything else raises :class:`BulkError`)."""
    field = _fields(model).get(name)
    if field is None:
        raise BulkError(f"{model.__name__} has no concrete field {name!r}.")
    return field


def column_quote(connection: Any, name: str | None) -> str:
    """A table or column name of the models' metadata, quoted by the backend."""
    return str(connection.ops.quote_name(name or ""))  # a concrete field always has a column


def value_preparer(field: "models.Field[Any, Any]", connection: Any) -> Callable[[Any], Any]:
    """How one value of ``field`` becomes a parameter, as :func:`rows_insert` prepares it: None,
    text and integers as they are, a model instance as its primary key, the rest as Django
    prepares it."""
    prepare, as_is = _preparer(field, connection)
    passed = (*as_is, type(None))

    def one(value: Any) -> Any:
        if type(value) in passed:
            return value
        if isinstance(value, models.Model):
            value = value.pk
        return prepare(value)

    return one


_INTEGERS = (
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
)


def _preparer(
    field: "models.Field[Any, Any]", connection: Any
) -> tuple[Callable[[Any], Any], tuple[type, ...]]:
    """How one field's values become parameters: (``prepare``, the types whose values go as they
    are). Text as it is, integers as they are (what Django's preparation gives them), JSON text
    already encoded as it is, the rest as Django prepares it; None is NULL."""
    if type(field) in _PLAIN_TEXT:
        as_is: tuple[type, ...] = (str,)
    elif field.get_internal_type() in _INTEGERS or (
        field.is_relation and field.target_field.get_internal_type() in _INTEGERS  # type: ignore[union-attr]
    ):
        as_is = (int,)
    else:
        as_is = ()
    if isinstance(field, models.JSONField):
        adapt = connection.ops.adapt_json_value
        encoder = field.encoder
        # Where the backend stores JSON as the text json.dumps gives (SQLite), JsonText is that
        # text already: it goes as it is.
        as_text = type(connection.ops).adapt_json_value is BaseDatabaseOperations.adapt_json_value

        def prepare(value: Any) -> Any:
            kind = type(value)
            if kind is JsonText:
                return str(value) if as_text else adapt(value, _AsIs)
            if kind in _JSON_PLAIN:  # all get_db_prep_save does with plain data
                return adapt(value, encoder)
            return None if value is None else field.get_db_prep_save(value, connection)

        return prepare, (JsonText,) if as_text else as_is  # (the driver binds it as text)

    if isinstance(field, models.DateTimeField):
        adapt_time = connection.ops.adapt_datetimefield_value

        def prepare_time(value: Any) -> Any:
            if type(value) is datetime and value.tzinfo is not None:
                return adapt_time(value)  # all Django's preparation does with an aware one
            return None if value is None else field.get_db_prep_save(value, connection)

        return prepare_time, as_is

    def prepare_any(value: Any) -> Any:
        return None if value is None else field.get_db_prep_save(value, connection)

    return prepare_any, as_is


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
    per statement). Returns the number of rows the database wrote (a row skipped on a conflict
    is not counted). The primary key is the database's.
    SQLite steps one prepared statement for every row (``executemany``); on PostgreSQL, whose
    Django driver binds parameters on the client, the rows go as one multi-row statement (so
    the server parses it once, not once a row), in batches under its parameter limit.
    The statement and each column's preparation are worked out once per model and shape (the
    :class:`_Insert` plan); a page's rows then become parameters mostly in C (a dict merge and
    an ``itemgetter`` a row), only the values Django must convert going through Python.
    """
    rows = list(rows)
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    plan = _insert_plan(
        model,
        connection,
        with_pk=model._meta.pk is not None
        and (model._meta.pk.attname in rows[0] or model._meta.pk.name in rows[0]),
        conflict=tuple(conflict),
        update=tuple(update),
        ignore_conflicts=ignore_conflicts,
    )
    return _insert_send(connection, plan, plan.params(rows))


def rows_insert_tuples(
    *,
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
    ignore_conflicts: bool = False,
) -> int:
    """:func:`rows_insert` for rows given as tuples of the values of ``columns`` (field attnames
    or names, in that order), without a dict per row: the same statement, defaults, preparation
    and result. A name that is no concrete field of the model is refused before anything is sent.
    """
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    pk = model._meta.pk
    plan = _insert_plan(
        model,
        connection,
        with_pk=pk is not None and (pk.attname in columns or pk.name in columns),
        conflict=tuple(conflict),
        update=tuple(update),
        ignore_conflicts=ignore_conflicts,
    )
    return _insert_send(connection, plan, plan.params_of_tuples(tuple(columns), rows))


def _insert_send(connection: Any, plan: "_Insert", params: list[tuple[Any, ...]]) -> int:
    if connection.vendor == "sqlite":  # one prepared statement stepped for every row
        with connection.cursor() as cursor:
            cursor.executemany(plan.head + plan.one + plan.tail, params)
            return int(cursor.rowcount)
    if len(params) >= _COPY_FROM and plan.stage:
        return _insert_copied(connection, plan, params)
    # Django's psycopg binds on the client: one statement of many rows, parsed once
    size = max(1, _MAX_PARAMS // len(plan.attnames))
    done = 0
    with connection.cursor() as cursor:
        for start in range(0, len(params), size):
            batch = params[start : start + size]
            cursor.execute(
                plan.head + ", ".join([plan.one] * len(batch)) + plan.tail,
                [value for values in batch for value in values],
            )
            done += cursor.rowcount
    return done


def _insert_copied(connection: Any, plan: "_Insert", params: list[tuple[Any, ...]]) -> int:
    """PostgreSQL: COPY the rows into the session's staging table for the model (a temporary
    table of its columns, emptied at each commit), then one INSERT ... SELECT from it (with the
    same ON CONFLICT): the rows cross as COPY data, not as SQL text the client formats and the
    server parses (that took more CPU than writing them)."""
    create, copy, move = plan.stage
    # The staging table's rows live until the commit: one transaction for the whole move.
    with transaction.atomic(using=connection.alias, savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute(create)  # once a session; a no-op after (IF NOT EXISTS)
            with cursor.cursor.copy(copy) as copying:
                for values in params:
                    copying.write_row(values)
            # One statement takes the rows out of the staging table (another insert of this
            # model in this transaction may follow) and inserts them.
            cursor.execute(move)
            return int(cursor.rowcount)


@dataclass(frozen=True)
class _Insert:
    """How rows of one model and shape become an INSERT and its parameters."""

    model: type[models.Model]
    head: str  # INSERT INTO "table" ("column", ...) VALUES
    one: str  # (%s, ...): one row's placeholders
    tail: str  # ON CONFLICT ...
    attnames: tuple[str, ...]  # the columns' fields, in order
    known: frozenset[str]  # the keys a row may use (attnames and names)
    renames: dict[str, str]  # name -> attname where they differ (location -> location_id)
    defaults: dict[str, Any]  # attname -> the value of a field a row leaves out
    per_call: tuple["models.Field[Any, Any]", ...]  # fields whose default is computed each call
    stamped: tuple[str, ...]  # auto_now / auto_now_add attnames: now, when a row leaves them out
    prepares: tuple[tuple[int, Callable[[Any], Any], frozenset[type]], ...]  # column, how, as is
    stage: tuple[str, str, str] | None  # PostgreSQL: create, COPY into, move into the table
    # columns of rows given as tuples -> their shape (params_of_tuples)
    shapes: dict[tuple[str, ...], tuple[tuple[int, ...], tuple[str, ...]]] = dataclass_field(
        default_factory=dict, compare=False
    )

    def _defaults(self) -> dict[str, Any]:
        """Every default column's value for this call: fixed ones, callables' (called once) and
        the auto_now stamps."""
        defaults = dict(self.defaults)
        for field in self.per_call:
            defaults[field.attname] = field.get_default()
        now = timezone.now()
        for attname in self.stamped:
            defaults[attname] = now
        return defaults

    def params(self, rows: list[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        for row in rows:
            if not self.known >= row.keys():
                unknown = next(key for key in row if key not in self.known)
                raise BulkError(f"{self.model.__name__} has no concrete field {unknown!r}.")
        defaults = self._defaults()
        renames = self.renames
        if renames:
            rows = [
                row
                if renames.keys().isdisjoint(row)
                else {renames.get(key, key): value for key, value in row.items()}
                for row in rows
            ]
        pick = itemgetter(*self.attnames)
        try:
            table = [pick({**defaults, **row}) for row in rows]
        except KeyError as exc:  # only a primary key has no default: given in some rows only
            raise BulkError(f"{self.model.__name__}: every row or none gives {exc}.") from None
        if len(self.attnames) == 1:
            table = [(value,) for value in table]
        columns: list[Sequence[Any]] = list(zip(*table, strict=True))
        changed = False
        for position, prepare, as_is in self.prepares:
            column = columns[position]
            if as_is.issuperset(map(type, column)):
                continue
            columns[position] = _prepared(column, prepare, as_is)
            changed = True
        return list(zip(*columns, strict=True)) if changed else table

    def params_of_tuples(
        self, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        """:meth:`params` of rows given as tuples of ``columns``' values."""
        order, missing = self._shape(columns)
        width = len(columns)
        if any(len(row) != width for row in rows):
            raise BulkError(f"{self.model.__name__}: a row has not one value per column.")
        defaults = self._defaults()
        try:
            extra = tuple(defaults[attname] for attname in missing)
        except KeyError as exc:  # only a primary key has no default
            raise BulkError(f"{self.model.__name__}: every row or none gives {exc}.") from None
        pick = itemgetter(*order)
        if len(order) == 1:
            table = [(pick(row + extra),) for row in rows]
        else:
            table = [pick(row + extra) for row in rows]
        columns_of: list[Sequence[Any]] | None = None
        for position, prepare, as_is in self.prepares:
            if columns_of is None:
                if as_is.issuperset(map(type, map(itemgetter(position), table))):
                    continue
                columns_of = list(zip(*table, strict=True))
            column = columns_of[position]
            if not as_is.issuperset(map(type, column)):
                columns_of[position] = _prepared(column, prepare, as_is)
        return table if columns_of is None else list(zip(*columns_of, strict=True))

    def _shape(self, columns: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """(for each column written, where its value is in ``row + extra``; the attnames of the
        fields the rows leave out, in ``extra``'s order), worked out once per columns."""
        known = self.shapes.get(columns)
        if known is None:
            known = self.shapes[columns] = self._shape_of(columns)
        return known

    def _shape_of(self, columns: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[str, ...]]:
        given = {}
        for position, name in enumerate(columns):
            if name not in self.known:
                raise BulkError(f"{self.model.__name__} has no concrete field {name!r}.")
            attname = self.renames.get(name, name)
            if attname in given:
                raise BulkError(f"{self.model.__name__}: {name!r} is given twice.")
            given[attname] = position
        missing = tuple(a for a in self.attnames if a not in given)
        order = tuple(
            given[a] if a in given else len(columns) + missing.index(a) for a in self.attnames
        )
        return order, missing


def _prepared(
    column: Sequence[Any], prepare: Callable[[Any], Any], as_is: frozenset[type]
) -> list[Any]:
    """A column's values as parameters; a value repeated (a default) is prepared once."""
    out = []
    last: Any = _MISSING
    last_prepared: Any = None
    for value in column:
        if type(value) in as_is:
            out.append(value)
        elif value is last:
            out.append(last_prepared)
        else:
            last, last_prepared = value, prepare(value)
            out.append(last_prepared)
    return out


@functools.lru_cache(maxsize=256)
def _insert_plan(
    model: type[models.Model],
    connection: Any,
    *,
    with_pk: bool,
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    ignore_conflicts: bool,
) -> _Insert:
    written = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    defaults: dict[str, Any] = {}
    per_call = []
    stamped = []
    prepares = []
    for position, field in enumerate(written):
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            stamped.append(field.attname)
        elif field.primary_key:
            pass  # no default: every row gives it
        elif field.has_default() and callable(field.default):
            per_call.append(field)
        else:
            defaults[field.attname] = field.get_default()
        prepare, as_is = _preparer(field, connection)
        prepares.append((position, prepare, frozenset((*as_is, type(None)))))
    quote = connection.ops.quote_name
    tail = ""
    if update:
        if not conflict:
            raise BulkError("An upsert names its unique fields (conflict=).")
        tail = " ON CONFLICT ({}) DO UPDATE SET {}".format(
            ", ".join(quote(model_field(model, name).column) for name in conflict),
            ", ".join(
                "{0} = EXCLUDED.{0}".format(quote(model_field(model, name).column))
                for name in update
            ),
        )
    elif ignore_conflicts or conflict:
        tail = " ON CONFLICT DO NOTHING"
    table = quote(model._meta.db_table)
    names = ", ".join(quote(f.column) for f in written)
    stage = None
    if connection.vendor == "postgresql":
        # Named after the columns and their types: a migration that changes them (tests migrate
        # back and forth in one session) gets a staging table of its own.
        shape = zlib.crc32(repr([(f.column, f.db_type(connection)) for f in written]).encode())
        staging = quote(f"{model._meta.db_table[:40]}__bulk_{shape:08x}")
        moved = quote("bulk__moved")
        stage = (
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS "  # noqa: S608 - names from model metadata only, quoted
            f"AS SELECT {names} FROM {table} WITH NO DATA",
            f"COPY {staging} ({names}) FROM STDIN",
            f"WITH {moved} AS (DELETE FROM {staging} RETURNING {names}) "  # noqa: S608
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {moved}{tail}",
        )
    return _Insert(
        model=model,
        head=f"INSERT INTO {table} ({names}) VALUES ",  # noqa: S608 - names from model metadata only, quoted
        one="({})".format(", ".join(["%s"] * len(written))),
        tail=tail,
        attnames=tuple(f.attname for f in written),
        known=frozenset(f.attname for f in written) | frozenset(f.name for f in written),
        renames={f.name: f.attname for f in written if f.name != f.attname},
        defaults=defaults,
        per_call=tuple(per_call),
        stamped=tuple(stamped),
        prepares=tuple(prepares),
        stage=stage,
    )


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
        fields = [model_field(model, name) for name in names]
        preparers = [_preparer(field, connection)[0] for field in fields]
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


def rows_select(
    *,
    model: type[models.Model],
    fields: Sequence[str],
    where: Mapping[str, Any],
    among: tuple[str, Iterable[Any]] | None = None,
    order_by: Sequence[str] = (),
    lock: bool = False,
) -> list[tuple[Any, ...]]:
    """The ``fields`` of the rows whose fields equal ``where``'s values (None: are NULL) (and, with ``among`` =
    ``(field, values)``, whose ``field`` is one of ``values``), as tuples converted as the ORM
    converts them; ordered by ``order_by`` (ascending); ``lock``: locked for this transaction
    (``FOR UPDATE`` where the database has it; SQLite's writing transaction holds the whole
    database). One statement (a long ``among`` goes in batches); no query compiled per call."""
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table = model._meta.db_table
    chosen = [model_field(model, name) for name in fields]
    tests = [model_field(model, name) for name in where]
    params = [
        field.get_db_prep_value(value, connection)
        for field, value in zip(tests, where.values(), strict=True)
        if value is not None
    ]
    conditions = [
        f"{quote(field.column)} IS NULL" if value is None else f"{quote(field.column)} = %s"
        for field, value in zip(tests, where.values(), strict=True)
    ]
    sql = "SELECT {} FROM {}".format(  # noqa: S608 - names from model metadata only, quoted
        ", ".join(quote(field.column) for field in chosen), quote(table)
    )
    order = ""
    if order_by:
        order = " ORDER BY " + ", ".join(
            quote(model_field(model, name).column) for name in order_by
        )
    locking = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    batches: list[list[Any]] = [[]]
    if among is not None:
        key = model_field(model, among[0])
        text = type(key) in _PLAIN_TEXT  # text goes as it is (all Django's preparation does)
        values = [
            value if text and type(value) is str else key.get_db_prep_value(value, connection)
            for value in among[1]
        ]
        if not values:
            return []
        batches = [values[i : i + _MAX_AMONG] for i in range(0, len(values), _MAX_AMONG)]
    converters = []
    for position, field in enumerate(chosen):
        column = field.get_col(table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((position, column, found))
    rows: list[tuple[Any, ...]] = []
    if among is not None and connection.vendor == "postgresql":
        # Each value looked up by itself (a LATERAL probe of the index on its full key): given
        # "key IN (...)" next to "location_id = %s", PostgreSQL, whose statistics do not yet
        # count a new location's rows (never analysed, or a location just added), scans every row
        # of the location and filters them, so a backfill's page read grew with each page.
        # (OFFSET 0 keeps the planner from flattening the probe into that same join.)
        ordering = [model_field(model, name) for name in order_by]
        extra = [field for field in ordering if field not in chosen]  # selected, then cut off
        probe = "SELECT {} FROM {}{} {} = {}.{} OFFSET 0{}".format(  # noqa: S608 - names from model metadata only, quoted
            ", ".join(quote(field.column) for field in [*chosen, *extra]),
            quote(table),
            " WHERE " + " AND ".join(conditions) + " AND" if conditions else " WHERE",
            quote(key.column),
            _AMONG,
            _AMONG_VALUE,
            locking,
        )
        sql = (
            f"SELECT {_ROW}.* FROM (SELECT {_AMONG_VALUE} FROM unnest(%s::{key.db_type(connection)}[])"  # noqa: S608 - names from model metadata only, quoted
            f" AS {_AMONG}({_AMONG_VALUE}) ORDER BY 1) AS {_AMONG}"
            f" CROSS JOIN LATERAL ({probe}) AS {_ROW}"
        )
        if ordering:
            sql += " ORDER BY " + ", ".join(f"{_ROW}.{quote(field.column)}" for field in ordering)
        with connection.cursor() as cursor:
            for batch in batches:
                cursor.execute(sql, [list(dict.fromkeys(batch)), *params])  # in the text's order
                found = cursor.fetchall()
                rows.extend([row[: len(chosen)] for row in found] if extra else found)
        batches = []
    with connection.cursor() as cursor:
        for batch in batches:
            tested = conditions
            if among is not None:
                tested = [
                    *conditions,
                    "{} IN ({})".format(quote(key.column), ", ".join(["%s"] * len(batch))),
                ]
            where_sql = " WHERE " + " AND ".join(tested) if tested else ""
            cursor.execute(sql + where_sql + order + locking, params + batch)
            rows.extend(cursor.fetchall())
    if not converters:
        return rows
    converted = []
    for raw in rows:
        row = list(raw)
        for position, column, found in converters:
            value = row[position]
            for convert in found:
                value = convert(value, column, connection)
            row[position] = value
        converted.append(tuple(row))
    return converted
