"""On PostgreSQL: partition the sync log, job attempts and webhook events by day (retention drops
a whole day's partition). The tables are converted with their rows; SQLite is left as it is."""

from django.db import migrations

from integrations.sync.partitions import PARTITIONED, table_partition


def partition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    for table, column in PARTITIONED.items():
        table_partition(table=table, column=column, using=connection)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0021_app_offered_to")]

    operations = [migrations.RunPython(partition, migrations.RunPython.noop, elidable=False)]
