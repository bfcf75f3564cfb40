"""The job bookkeeping's SQL, each statement composed once per database and shape.

A polled run over an unchanged location is mostly bookkeeping: claim the job and open its
attempt, read the subscription, renew and fence the lease with each write, record the outcome.
Composed by the ORM on every call, that SQL cost more CPU than the run's own work; here each
statement is composed on first use from the models' metadata only (table and column names quoted
by the backend, never taken from input: a name that is not one of the model's concrete fields is
refused) and kept, and a call only prepares its values as the fields prepare them. The database's
clock (``Now()``, a lease's end) is the SQL Django compiles for those expressions, compiled once.

  :func:`row_update_where`   a conditional UPDATE (the fenced writes); returns the rows it changed
  :func:`job_claim_row`      claim a due queued job and read it back, in one UPDATE ... RETURNING
  :func:`attempt_open`       insert the claim's attempt, numbered after the job's last one
  :func:`row_select`         one row by primary key with the rows its foreign keys point at
                             (nested paths too), cached on it as ``select_related`` caches them
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import connections, models, router
from django.db.models import DateTimeField, DurationField, ExpressionWrapper
from django.db.models.functions import Now
from django.db.models.sql import Query

from integrations.sync.models import Job, JobAttempt
from portal.bulk import column_quote, model_field, value_preparer

M = TypeVar("M", bound=models.Model)
AnyField = "models.Field[Any, Any]"
Converter = tuple[Callable[[Any, Any, Any], Any], Any]


@dataclass(frozen=True)
class DbNow:
    """A column set to the database's clock now (``seconds`` later: a lease's end)."""

    seconds: float = 0.0


@dataclass(frozen=True)
class Increment:
    """A column set to itself plus one."""


DB_NOW = DbNow()
INCREMENT = Increment()

_built: dict[tuple[Any, ...], Any] = {}


def _clock(connection: Any, seconds: float) -> tuple[str, tuple[Any, ...]]:
    """The SQL (and its parameters) of the database's now plus ``seconds``, as Django compiles
    ``Now()`` (plus a ``timedelta``) for this database: compiled once, the duration then passed
    as the parameter Django makes of it."""
    if not seconds:
        key: tuple[Any, ...] = ("now", connection.alias, connection.vendor)
        if (found := _built.get(key)) is None:
            found = _built[key] = _compiled(connection, Now())
        return found
    key = ("later", connection.alias, connection.vendor)
    if (found := _built.get(key)) is None:
        probe = timedelta(seconds=1)
        sql, params = _compiled(connection, _later(probe))
        if params != (_duration(connection, probe),):  # pragma: no cover - not our databases
            raise NotImplementedError(f"{connection.vendor}: a lease's end is not one parameter.")
        found = _built[key] = sql
    return found, (_duration(connection, timedelta(seconds=seconds)),)


def _later(delta: timedelta) -> Any:
    return ExpressionWrapper(Now() + delta, output_field=DateTimeField())


def _duration(connection: Any, delta: timedelta) -> Any:
    return DurationField().get_db_prep_value(delta, connection)


def _compiled(connection: Any, expression: Any) -> tuple[str, tuple[Any, ...]]:
    query = Query(Job)
    sql, params = query.get_compiler(connection=connection).compile(
        expression.resolve_expression(query)
    )
    return sql, tuple(params)


def _assignments(
    connection: Any, model: type[models.Model], values: Mapping[str, Any]
) -> tuple[list[str], list[Any]]:
    """``column = ...`` of each value, and the parameters: SQL from the model's metadata and the
    value's kind (a plain value, :class:`DbNow`, :data:`INCREMENT`) only."""
    sets: list[str] = []
    params: list[Any] = []
    for name, value in values.items():
        field = model_field(model, name)
        column = column_quote(connection, field.column)
        if isinstance(value, DbNow):
            clock, clock_params = _clock(connection, value.seconds)
            sets.append(f"{column} = {clock}")
            params.extend(clock_params)
        elif isinstance(value, Increment):
            sets.append(f"{column} = ({column} + 1)")
        else:
            sets.append(f"{column} = %s")
            params.append(value_preparer(field, connection)(value))
    return sets, params


@dataclass(frozen=True)
class _Update:
    sql: str
    sets: tuple[tuple[str, Callable[[Any], Any] | None], ...]  # (kind, preparer) per value
    where: tuple[Callable[[Any], Any], ...]


def _kind(value: Any) -> str:
    if isinstance(value, DbNow):
        return "later" if value.seconds else "now"
    if isinstance(value, Increment):
        return "increment"
    if hasattr(value, "resolve_expression"):  # an ORM expression: the ORM's to write
        raise TypeError(f"{value!r}: an expression is no plain value.")
    return "value"


def _update_plan(
    connection: Any,
    model: type[models.Model],
    shape: tuple[tuple[str, str], ...],
    where: tuple[str, ...],
) -> _Update:
    key = ("update", connection.alias, connection.vendor, model, shape, where)
    if (found := _built.get(key)) is not None:
        return found  # type: ignore[no-any-return]
    sets: list[str] = []
    makers: list[tuple[str, Callable[[Any], Any] | None]] = []
    for name, kind in shape:
        field = model_field(model, name)
        column = column_quote(connection, field.column)
        if kind in ("now", "later"):
            clock, _ = _clock(connection, 1.0 if kind == "later" else 0)
            sets.append(f"{column} = {clock}")
            makers.append((kind, None))
        elif kind == "increment":
            sets.append(f"{column} = ({column} + 1)")
            makers.append((kind, None))
        else:
            sets.append(f"{column} = %s")
            makers.append((kind, value_preparer(field, connection)))
    conditions = []
    preparers = []
    for name in where:
        field = model_field(model, name)
        conditions.append(f"{column_quote(connection, field.column)} = %s")
        preparers.append(value_preparer(field, connection))
    sql = "UPDATE {} SET {} WHERE {}".format(  # noqa: S608 - names from model metadata only, quoted
        column_quote(connection, model._meta.db_table), ", ".join(sets), " AND ".join(conditions)
    )
    built = _built[key] = _Update(sql=sql, sets=tuple(makers), where=tuple(preparers))
    return built


def row_update_where(
    *, model: type[models.Model], where: Mapping[str, Any], values: Mapping[str, Any]
) -> int:
    """UPDATE ``values`` of the ``model`` rows whose fields equal ``where`` (each value exactly;
    None is not allowed there). Returns the number of rows changed. ``values`` are plain values
    (a model instance for a foreign key: its primary key), :class:`DbNow` or :data:`INCREMENT`;
    an ORM expression is refused. The statement is composed once per model and shape."""
    if not values or not where:
        raise ValueError("row_update_where: nothing to write, or no row named.")
    if any(value is None for value in where.values()):
        raise ValueError("row_update_where: a None in where (no row equals NULL).")
    alias = router.db_for_write(model)
    connection = connections[alias]
    plan = _update_plan(
        connection,
        model,
        tuple((name, _kind(value)) for name, value in values.items()),
        tuple(where),
    )
    params: list[Any] = []
    for (kind, prepare), value in zip(plan.sets, values.values(), strict=True):
        if prepare is not None:
            params.append(prepare(value))
        elif kind == "later":
            params.extend(_clock(connection, value.seconds)[1])
    params.extend(prepare(value) for prepare, value in zip(plan.where, where.values(), strict=True))
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, params)
        return int(cursor.rowcount)


@dataclass(frozen=True)
class _Read:
    """How a row read back becomes a model instance: its fields' attnames and converters."""

    attnames: tuple[str, ...]
    converters: tuple[tuple[Converter, ...], ...]


def _reader(connection: Any, model: type[models.Model]) -> _Read:
    key = ("reader", connection.alias, connection.vendor, model)
    if (found := _built.get(key)) is not None:
        return found  # type: ignore[no-any-return]
    converters = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        converting = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        converters.append(tuple((convert, column) for convert in converting))
    built = _built[key] = _Read(
        attnames=tuple(field.attname for field in model._meta.concrete_fields),
        converters=tuple(converters),
    )
    return built


def _instance(connection: Any, model: type[M], values: Sequence[Any]) -> M | None:
    read = _reader(connection, model)
    converted = list(values)
    for n, converters in enumerate(read.converters):
        for convert, column in converters:
            converted[n] = convert(converted[n], column, connection)
    pk = converted[read.attnames.index(model._meta.pk.attname)]
    if pk is None:
        return None
    return model.from_db(connection.alias, read.attnames, converted)


def _columns(connection: Any, model: type[models.Model], table: str) -> list[str]:
    return [
        f"{table}.{column_quote(connection, field.column)}" for field in model._meta.concrete_fields
    ]


def job_claim_row(*, job_id: int, lease_s: float) -> tuple[Job, str] | None:
    """Claim job ``job_id`` when it is queued and due (on the database's clock): running from
    now, its lease ``lease_s`` ahead, one more attempt, its fencing token raised. Returns the job
    as it is now and its location's HighLevel id ("" without one), or None when it was not
    claimable (another worker has it, it is not due, it is done)."""
    alias = router.db_for_write(Job)
    connection = connections[alias]
    key = ("claim", alias, connection.vendor, lease_s)
    if (found := _built.get(key)) is None:
        sets, set_params = _assignments(
            connection,
            Job,
            dict(
                status=Job.Status.RUNNING,
                started_at=DB_NOW,
                finished_at=None,
                lease_until=DbNow(lease_s),
                attempts=INCREMENT,
                lease_token=INCREMENT,
                superseded_by=None,
            ),
        )
        table = column_quote(connection, Job._meta.db_table)
        due = column_quote(connection, model_field(Job, "next_attempt_at").column)
        now, now_params = _clock(connection, 0)
        location: Any = model_field(Job, "location")  # a ForeignKey
        location_table = column_quote(connection, location.related_model._meta.db_table)
        ghl_id = model_field(location.related_model, "location_id")
        sql = (  # noqa: S608 - names from model metadata only, quoted
            "UPDATE {table} SET {sets} WHERE {pk} = %s AND {status} = %s"
            " AND ({due} IS NULL OR {due} <= {now})"
            " RETURNING {columns}, (SELECT {ghl_id} FROM {location_table} WHERE {target} = {fk})"
        ).format(
            table=table,
            sets=", ".join(sets),
            pk=column_quote(connection, Job._meta.pk.column),
            status=column_quote(connection, model_field(Job, "status").column),
            due=due,
            now=now,
            columns=", ".join(_columns(connection, Job, table)),
            ghl_id=f"{location_table}.{column_quote(connection, ghl_id.column)}",
            location_table=location_table,
            target=f"{location_table}.{column_quote(connection, location.target_field.column)}",
            fk=f"{table}.{column_quote(connection, location.column)}",
        )
        found = _built[key] = (sql, tuple(set_params), tuple(now_params))
    sql, before, after = found
    with connection.cursor() as cursor:
        cursor.execute(sql, [*before, job_id, Job.Status.QUEUED, *after])
        row = cursor.fetchone()
    if row is None:
        return None
    job = _instance(connection, Job, row[:-1])
    assert job is not None  # noqa: S101 - a row read back has its primary key
    return job, row[-1] or ""


def attempt_open(*, job_id: int, lease_token: int, worker: str, started_at: datetime) -> JobAttempt:
    """Insert the attempt of a claim just made, numbered one after the job's last attempt (its
    row is locked by the claim's transaction), with every other column at its default."""
    alias = router.db_for_write(JobAttempt)
    connection = connections[alias]
    given = ("job", "number", "lease_token", "worker", "started_at")
    key = ("attempt", alias, connection.vendor)
    if (found := _built.get(key)) is None:
        fields = [field for field in JobAttempt._meta.concrete_fields if not field.primary_key]
        table = column_quote(connection, JobAttempt._meta.db_table)
        number = column_quote(connection, model_field(JobAttempt, "number").column)
        job_column = column_quote(connection, model_field(JobAttempt, "job").column)
        defaults = [
            (field, value_preparer(field, connection)(field.get_default()))
            for field in fields
            if field.name not in given
        ]
        selected = ["%s", f"COALESCE(MAX({number}), 0) + 1", "%s", "%s", "%s"]
        sql = (  # noqa: S608 - names from model metadata only, quoted
            "INSERT INTO {table} ({columns}) SELECT {selected} FROM {table} WHERE {job} = %s"
            " RETURNING {pk}, {number}"
        ).format(
            table=table,
            columns=", ".join(
                column_quote(connection, model_field(JobAttempt, name).column)
                for name in [*given, *(field.name for field, _ in defaults)]
            ),
            selected=", ".join(selected + ["%s"] * len(defaults)),
            job=job_column,
            pk=column_quote(connection, JobAttempt._meta.pk.column),
            number=number,
        )
        preparers = tuple(
            value_preparer(model_field(JobAttempt, name), connection)
            for name in ("job", "lease_token", "started_at")
        )
        found = _built[key] = (sql, tuple(value for _, value in defaults), preparers)
    sql, default_values, (job_prepare, token_prepare, time_prepare) = found
    job = job_prepare(job_id)
    params = [
        job,
        token_prepare(lease_token),
        worker,
        time_prepare(started_at),
        *default_values,
        job,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        pk, number = cursor.fetchone()
    attempt = JobAttempt(
        job_id=job_id, number=number, lease_token=lease_token, worker=worker, started_at=started_at
    )
    attempt.pk = pk
    attempt._state.adding = False
    attempt._state.db = alias
    return attempt


@dataclass(frozen=True)
class _Join:
    parent: int  # index of the part the foreign key is on
    via: Any  # the ForeignKey
    model: type[models.Model]


def row_select(*, model: type[M], pk: Any, related: Sequence[str] = ()) -> M:
    """The ``model`` row ``pk`` with the rows its foreign keys ``related`` (``a``, ``a__b``) point
    at cached on it, as ``select_related(*related).get(pk=pk)`` gives it, in one statement
    composed once. Raises ``model.DoesNotExist`` when there is none."""
    alias = router.db_for_read(model)
    connection = connections[alias]
    key = ("select", alias, connection.vendor, model, tuple(related))
    if (found := _built.get(key)) is None:
        joins: list[_Join] = []
        paths: dict[str, int] = {"": 0}
        for path in related:
            parent = ""
            for name in path.split("__"):
                here = f"{parent}__{name}" if parent else name
                if here not in paths:
                    owner = model if not parent else joins[paths[parent] - 1].model
                    via = owner._meta.get_field(name)
                    if not isinstance(via, models.ForeignKey):
                        raise TypeError(f"{owner.__name__}.{name} is not a foreign key.")
                    joins.append(_Join(parent=paths[parent], via=via, model=via.related_model))
                    paths[here] = len(joins)
                parent = here
        columns = _columns(connection, model, column_quote(connection, "t0"))
        clauses = []
        for n, join in enumerate(joins, start=1):
            table = column_quote(connection, f"t{n}")
            columns += _columns(connection, join.model, table)
            clauses.append(
                "LEFT OUTER JOIN {} {} ON {}.{} = {}.{}".format(
                    column_quote(connection, join.model._meta.db_table),
                    table,
                    table,
                    column_quote(connection, join.via.target_field.column),
                    column_quote(connection, f"t{join.parent}"),
                    column_quote(connection, join.via.column),
                )
            )
        sql = "SELECT {} FROM {} {} {} WHERE {}.{} = %s".format(  # noqa: S608 - names from model metadata only, quoted
            ", ".join(columns),
            column_quote(connection, model._meta.db_table),
            column_quote(connection, "t0"),
            " ".join(clauses),
            column_quote(connection, "t0"),
            column_quote(connection, model._meta.pk.column),
        )
        found = _built[key] = (sql, tuple(joins))
    sql, parts = found
    with connection.cursor() as cursor:
        cursor.execute(sql, [model._meta.pk.get_db_prep_value(pk, connection)])
        row = cursor.fetchone()
    if row is None:
        raise model.DoesNotExist(f"{model.__name__} matching query does not exist.")  # type: ignore[attr-defined]
    width = len(model._meta.concrete_fields)
    main = _instance(connection, model, row[:width])
    instances: list[Any] = [main]
    start = width
    for join in parts:
        end = start + len(join.model._meta.concrete_fields)
        instance = _instance(connection, join.model, row[start:end])
        start = end
        parent = instances[join.parent]
        if parent is not None:
            join.via.set_cached_value(parent, instance)
        instances.append(instance)
    return main  # type: ignore[return-value]
