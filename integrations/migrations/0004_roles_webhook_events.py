from django.db import migrations

from portal.roles import roles_migration

TABLE = {
    "Agency staff": {"integrations.view_webhookevent"},
    "Auditor": {"integrations.view_webhookevent"},
    "Support": {"integrations.view_webhookevent"},
}


class Migration(migrations.Migration):
    dependencies = [("integrations", "0003_webhook_events")]

    operations = [roles_migration(TABLE)]
