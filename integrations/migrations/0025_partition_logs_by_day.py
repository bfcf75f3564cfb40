"""On PostgreSQL: partition the sync log, job attempts and webhook events by day (retention drops
a whole day's partition). The tables are converted with their rows; SQLite is left as it is."""

from django.db import migrations

from integrations.sync.partitions import (
    PARTITIONED,
    is_partitioned,
    table_partition,
    table_unpartition,
)


def partition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    for table, column in PARTITIONED.items():
        if not is_partitioned(table, using=connection):
            table_partition(table=table, column=column, using=connection)


def unpartition(apps, schema_editor):
    """Migrating back: plain tables again, so the earlier migrations' steps apply as written."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    for table, column in PARTITIONED.items():
        if is_partitioned(table, using=connection):
            table_unpartition(table=table, column=column, using=connection)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0024_erasure_tombstone")]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
