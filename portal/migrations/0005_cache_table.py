"""The database cache's table (settings.CACHES when no Redis is configured), so that every place
that migrates (the demo, deployments, tests, benches) has it. Does nothing with a Redis cache."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("portal", "0004_encrypt_mfa_secrets")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
