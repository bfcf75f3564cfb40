"""Leases on the database's clock.

Every lease (a running job's, a subscription run's claim) is written and compared in SQL with the
database's own ``now()`` (PostgreSQL's ``STATEMENT_TIMESTAMP()``, SQLite's ``'now'``), never with
the host's clock: workers whose clocks differ still agree on who holds what.
"""

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import DateTimeField, ExpressionWrapper
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Now


def lease_end(*, seconds: float) -> "ExpressionWrapper[CombinedExpression]":
    """The database's now plus ``seconds``, as an expression for ``update()`` and ``filter()``."""
    return ExpressionWrapper(Now() + timedelta(seconds=seconds), output_field=DateTimeField())


def db_ago(*, seconds: float) -> "ExpressionWrapper[CombinedExpression]":
    """The database's now minus ``seconds``."""
    return ExpressionWrapper(Now() - timedelta(seconds=seconds), output_field=DateTimeField())


def db_now() -> datetime:
    """The database's clock, read once (for display and for tests; leases use the expressions)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT STRFTIME('%Y-%m-%d %H:%M:%f', 'now')")
            value = datetime.fromisoformat(cursor.fetchone()[0])
        else:
            cursor.execute("SELECT STATEMENT_TIMESTAMP()")
            value = cursor.fetchone()[0]
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value
