"""Daily partitions of the three append-heavy tables on PostgreSQL; nothing on SQLite.

The sync log (``at``), job attempts (``started_at``) and webhook events (``received_at``) are
partitioned by range on their timestamp, one partition per UTC day
(``<table>_p20261202``) plus a DEFAULT partition (``<table>_pdefault``) so an insert never fails
for want of a partition. Dropping a day's partition is how retention removes a whole expired day
(:func:`partitions_expired_drop`); the rows of the day the cut-off falls in, and any in the
default partition, are deleted row by row by the callers.

The database's primary key is ``(id, <timestamp>)`` (PostgreSQL wants the partition key in every
unique constraint); Django keeps ``id`` as the model's primary key, and ids stay unique because
one identity sequence gives them. The two unique rules that do not include the timestamp (a
webhook id is stored once, a job's attempt numbers are unique) are kept by a trigger that takes
an advisory lock on the key and looks for an earlier row, raising the same unique violation
(so ``IntegrityError``) as the constraint did; an update that moves a row to another day's
partition is not a second row (``id <> NEW.id``). Nothing references these tables by foreign
key, so no foreign key has to include the partition key.

:func:`table_partition` converts an existing, populated table (the migration), and
:func:`partitions_ensure` creates the days ahead (the scheduler tick and every ``migrate``).
"""

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import OperationalError, transaction
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

PARTITIONED: dict[str, str] = {
    "integrations_synclog": "at",
    "integrations_jobattempt": "started_at",
    "integrations_webhookevent": "received_at",
}
DAYS_AHEAD = 2
LOCK_TIMEOUT_MS = 5000
logger = logging.getLogger(__name__)

# Unique rules the partitioned tables cannot keep as constraints (they lack the partition key).
_GUARDS: dict[str, str] = {
    "integrations_webhookevent": """
        CREATE OR REPLACE FUNCTION integrations_webhookevent_once() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status <> 'rejected' THEN
                PERFORM pg_advisory_xact_lock(871501, hashtext(NEW.webhook_id));
                IF EXISTS (SELECT 1 FROM integrations_webhookevent
                           WHERE webhook_id = NEW.webhook_id AND status <> 'rejected'
                             AND id <> NEW.id) THEN
                    RAISE EXCEPTION
                        'duplicate key value violates unique constraint "webhook_id_once"'
                        USING ERRCODE = 'unique_violation', CONSTRAINT = 'webhook_id_once',
                              DETAIL = format('Key (webhook_id)=(%s) already exists.',
                                              NEW.webhook_id);
                END IF;
            END IF;
            RETURN NEW;
        END $$;
        DROP TRIGGER IF EXISTS webhook_id_once ON integrations_webhookevent;
        CREATE TRIGGER webhook_id_once BEFORE INSERT ON integrations_webhookevent
            FOR EACH ROW EXECUTE FUNCTION integrations_webhookevent_once();
    """,
    "integrations_jobattempt": """
        CREATE OR REPLACE FUNCTION integrations_jobattempt_once() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock(871502, (NEW.job_id % 2147483647)::int);
            IF EXISTS (SELECT 1 FROM integrations_jobattempt
                       WHERE job_id = NEW.job_id AND number = NEW.number
                         AND id <> NEW.id) THEN
                RAISE EXCEPTION
                    'duplicate key value violates unique constraint "job_attempt_once"'
                    USING ERRCODE = 'unique_violation', CONSTRAINT = 'job_attempt_once',
                          DETAIL = format('Key (job_id, number)=(%s, %s) already exists.',
                                          NEW.job_id, NEW.number);
            END IF;
            RETURN NEW;
        END $$;
        DROP TRIGGER IF EXISTS job_attempt_once ON integrations_jobattempt;
        CREATE TRIGGER job_attempt_once BEFORE INSERT ON integrations_jobattempt
            FOR EACH ROW EXECUTE FUNCTION integrations_jobattempt_once();
    """,
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def _bound(day: date) -> str:
    return datetime.combine(day, time(), tzinfo=UTC).isoformat()


def _today() -> date:
    return datetime.now(UTC).date()


def is_partitioned(table: str, *, using: BaseDatabaseWrapper | None = None) -> bool:
    conn = using or default_connection
    if conn.vendor != "postgresql":
        return False
    with conn.cursor() as cur:
        cur.execute(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = %s AND pg_table_is_visible(c.oid)",
            [table],
        )
        return cur.fetchone() is not None


def partitions_list(table: str, *, using: BaseDatabaseWrapper | None = None) -> dict[str, date]:
    """The day partitions of ``table`` by name (the default partition is not listed)."""
    conn = using or default_connection
    with conn.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table],
        )
        names = [row[0] for row in cur.fetchall()]
    days = {}
    prefix = f"{table}_p"
    for name in names:
        suffix = name[len(prefix) :] if name.startswith(prefix) else ""
        if len(suffix) == 8 and suffix.isdigit():
            days[name] = date(int(suffix[:4]), int(suffix[4:6]), int(suffix[6:]))
    return days


def _lock_timeout(cur: CursorWrapper) -> None:
    """Creating or dropping a partition locks the whole table: waiting behind a long read (an
    export) would queue every insert behind it, so give up after a few seconds instead."""
    cur.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")


def _lock_timed_out(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "55P03"  # lock_not_available


def _partition_create(cur: CursorWrapper, table: str, column: str, day: date) -> bool:
    """Create ``day``'s partition unless it exists; rows of that day waiting in the default
    partition move into it (PostgreSQL refuses the partition while they sit there)."""
    name = partition_name(table, day)
    cur.execute("SELECT to_regclass(%s)", [name])
    row = cur.fetchone()
    if row is not None and row[0] is not None:
        return False
    low, high = _bound(day), _bound(day + timedelta(days=1))
    default = f"{table}_pdefault"
    cur.execute(
        f"SELECT EXISTS (SELECT 1 FROM {_q(default)} WHERE {_q(column)} >= %s "  # noqa: S608 (quoted names; values are parameters)
        f"AND {_q(column)} < %s)",
        [low, high],
    )
    waiting = cur.fetchone()
    if waiting is not None and waiting[0]:
        cur.execute(
            "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [table],
        )
        found = cur.fetchone()
        columns = found[0] if found else ""
        cur.execute(
            f"CREATE TABLE {_q(name)} (LIKE {_q(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        cur.execute(
            f"WITH moved AS (DELETE FROM {_q(default)} WHERE {_q(column)} >= %s "  # noqa: S608 (quoted names; values are parameters)
            f"AND {_q(column)} < %s RETURNING {columns}) "
            f"INSERT INTO {_q(name)} ({columns}) SELECT {columns} FROM moved",
            [low, high],
        )
        cur.execute(
            f"ALTER TABLE {_q(table)} ATTACH PARTITION {_q(name)} FOR VALUES FROM (%s) TO (%s)",
            [low, high],
        )
    else:
        cur.execute(
            f"CREATE TABLE {_q(name)} PARTITION OF {_q(table)} FOR VALUES FROM (%s) TO (%s)",
            [low, high],
        )
    return True


def partitions_ensure(
    *,
    start: date | None = None,
    end: date | None = None,
    using: BaseDatabaseWrapper | None = None,
) -> int:
    """Create the missing day partitions from ``start`` (today) to ``end`` (today + DAYS_AHEAD)
    on every partitioned table; returns how many were created. Nothing on SQLite."""
    conn = using or default_connection
    if conn.vendor != "postgresql":
        return 0
    first = start or _today()
    last = end or _today() + timedelta(days=DAYS_AHEAD)
    created = 0
    for table, column in PARTITIONED.items():
        if not is_partitioned(table, using=conn):
            continue
        day = first
        while day <= last:
            try:
                with transaction.atomic(using=conn.alias), conn.cursor() as cur:
                    _lock_timeout(cur)
                    created += _partition_create(cur, table, column, day)
            except OperationalError as exc:
                if not _lock_timed_out(exc):
                    raise
                # The default partition takes the day's rows meanwhile; the next run moves them.
                logger.info("%s is busy: %s's partition is created next run", table, day)
            day += timedelta(days=1)
    return created


def partitions_expired_drop(
    *,
    table: str,
    before: datetime,
    keep: str = "",
    using: BaseDatabaseWrapper | None = None,
) -> int:
    """Drop each day partition of ``table`` that ends at or before ``before``, unless it holds a
    row matching the SQL condition ``keep`` (those partitions are left to the row-by-row prune).
    Returns how many rows the dropped partitions held; 0 when the table is not partitioned."""
    conn = using or default_connection
    if not is_partitioned(table, using=conn):
        return 0
    dropped = 0
    for name, day in sorted(partitions_list(table, using=conn).items(), key=lambda kv: kv[1]):
        ends = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
        if ends > before:
            continue
        try:
            with transaction.atomic(using=conn.alias), conn.cursor() as cur:
                _lock_timeout(cur)
                # Foreign keys checked at commit would hold the partition ("pending trigger
                # events") when rows were written earlier in this transaction: check them now.
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cur.execute("SET CONSTRAINTS ALL DEFERRED")
                # The lock first: no row arrives between the look and the drop.
                cur.execute(f"LOCK TABLE {_q(name)} IN ACCESS EXCLUSIVE MODE")
                if keep:
                    cur.execute(f"SELECT EXISTS (SELECT 1 FROM {_q(name)} WHERE {keep})")  # noqa: S608 (quoted names; values are parameters)
                    held = cur.fetchone()
                    if held is not None and held[0]:
                        continue
                cur.execute(f"SELECT count(*) FROM {_q(name)}")  # noqa: S608 (quoted names; values are parameters)
                counted = cur.fetchone()
                cur.execute(f"DROP TABLE {_q(name)}")
        except OperationalError as exc:
            if not _lock_timed_out(exc):
                raise
            logger.info(
                "partition %s is busy (a long read holds the table): dropped next run", name
            )
            continue
        dropped += counted[0] if counted else 0
    return dropped


def _conversion_days(cur: CursorWrapper, source: str, column: str) -> list[date]:
    cur.execute(
        f"SELECT DISTINCT ({_q(column)} AT TIME ZONE 'UTC')::date FROM {_q(source)} "  # noqa: S608 (quoted names; values are parameters)
        f"WHERE {_q(column)} IS NOT NULL"
    )
    days = {row[0] for row in cur.fetchall()}
    today = _today()
    days.update(today + timedelta(days=n) for n in range(DAYS_AHEAD + 1))
    return sorted(days)


def table_partition(*, table: str, column: str, using: BaseDatabaseWrapper) -> None:
    """Turn ``table`` into one partitioned by day on ``column``, keeping its rows, columns,
    defaults, identity, checks, indexes and foreign keys under their names. Run inside the
    migration's transaction: readers and writers wait for it, then find the new table."""
    old = f"{table}__unpartitioned"
    with using.cursor() as cur:
        constraints, indexes, constraint_indexes = _table_set_aside(cur, table, old)
        cur.execute(
            f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING DEFAULTS INCLUDING IDENTITY "
            f"INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS) "
            f"PARTITION BY RANGE ({_q(column)})"
        )
        cur.execute(f"CREATE TABLE {_q(table + '_pdefault')} PARTITION OF {_q(table)} DEFAULT")
        for day in _conversion_days(cur, old, column):
            cur.execute(
                f"CREATE TABLE {_q(partition_name(table, day))} PARTITION OF {_q(table)} "
                f"FOR VALUES FROM (%s) TO (%s)",
                [_bound(day), _bound(day + timedelta(days=1))],
            )
        _rows_copy(cur, table, old)
        for name, kind, definition, _index in constraints:
            if kind == "p":
                cur.execute(
                    f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} "
                    f"PRIMARY KEY (id, {_q(column)})"
                )
            elif kind == "u":
                # UNIQUE (a, b) -> UNIQUE (a, b, <partition key>); the trigger keeps (a, b).
                cur.execute(
                    f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} "
                    f"{definition[:-1]}, {_q(column)})"
                )
            else:
                cur.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
        for oid, _name, definition in indexes:
            if oid in constraint_indexes:
                continue
            # A unique index without the partition key (a conditional unique constraint) is
            # kept as a plain index of the same name; its trigger keeps the rule.
            cur.execute(definition.replace("CREATE UNIQUE INDEX", "CREATE INDEX", 1))
        cur.execute(f"DROP TABLE {_q(old)}")
        guard = _GUARDS.get(table)
        if guard:
            cur.execute(guard)
        cur.execute(f"ANALYZE {_q(table)}")


# Unique indexes turned plain (their rule kept by the trigger) when partitioned: made unique again.
_UNIQUE_INDEXES = {"integrations_webhookevent": ("webhook_id_once",)}


def table_unpartition(*, table: str, column: str, using: BaseDatabaseWrapper) -> None:
    """The reverse of :func:`table_partition` (migrating back): one plain table again, with its
    rows, its ``id`` primary key and its unique rules as constraints; the triggers go."""
    old = f"{table}__partitioned"
    with using.cursor() as cur:
        if table in _GUARDS:
            cur.execute(f"DROP TRIGGER IF EXISTS {_q(_trigger_name(table))} ON {_q(table)}")
            cur.execute(f"DROP FUNCTION IF EXISTS {_q(table + '_once')}()")
        constraints, indexes, constraint_indexes = _table_set_aside(cur, table, old)
        cur.execute(
            f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING DEFAULTS INCLUDING IDENTITY "
            f"INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)"
        )
        _rows_copy(cur, table, old)
        suffix = f", {_q(column)})"
        for name, kind, definition, _index in constraints:
            if kind == "p":
                cur.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} PRIMARY KEY (id)")
            elif kind == "u":
                plain = definition.replace(suffix, ")").replace(f", {column})", ")")
                cur.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {plain}")
            else:
                cur.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
        for oid, name, definition in indexes:
            if oid in constraint_indexes:
                continue
            statement = definition.replace(" ON ONLY ", " ON ", 1)
            if name in _UNIQUE_INDEXES.get(table, ()):
                statement = statement.replace("CREATE INDEX", "CREATE UNIQUE INDEX", 1)
            cur.execute(statement)
        cur.execute(f"DROP TABLE {_q(old)} CASCADE")


def _trigger_name(table: str) -> str:
    return {"integrations_webhookevent": "webhook_id_once"}.get(table, "job_attempt_once")


def _table_set_aside(
    cur: CursorWrapper, table: str, old: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], set[int]]:
    """Read ``table``'s constraints and indexes, rename it ``old`` and strip it of them (so their
    names are free for the new table). Returns the constraints, the indexes, and the indexes that
    back a primary key or unique constraint (made again with their constraint)."""
    cur.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid), conindid FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f')",
        [table],
    )
    constraints = cur.fetchall()
    cur.execute(
        "SELECT i.indexrelid, c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass",
        [table],
    )
    indexes = cur.fetchall()
    constraint_indexes = {row[3] for row in constraints if row[1] in ("p", "u")}
    cur.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
    for name, _kind, _definition, _index in constraints:
        cur.execute(f"ALTER TABLE {_q(old)} DROP CONSTRAINT {_q(name)}")
    for oid, name, _definition in indexes:
        if oid not in constraint_indexes:
            cur.execute(f"DROP INDEX {_q(name)}")
    return constraints, indexes, constraint_indexes


def _rows_copy(cur: CursorWrapper, table: str, old: str) -> None:
    """Every row of ``old`` into ``table`` (ids kept), and ``table``'s id sequence past them."""
    columns = _columns(cur, table)
    cur.execute(
        f"INSERT INTO {_q(table)} ({columns}) OVERRIDING SYSTEM VALUE "  # noqa: S608 (quoted names)
        f"SELECT {columns} FROM {_q(old)}"
    )
    cur.execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # noqa: S608 (quoted names)
        f"COALESCE((SELECT max(id) FROM {_q(table)}), 0) + 1, false)",
        [table],
    )


def _columns(cur: CursorWrapper, table: str) -> str:
    cur.execute(
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        [table],
    )
    found = cur.fetchone()
    return found[0] if found and found[0] else ""
