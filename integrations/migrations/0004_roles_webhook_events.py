from django.db import migrations

from portal.roles import roles_grant, roles_revoke

TABLE = {
    "Agency staff": {"integrations.view_webhookevent"},
    "Auditor": {"integrations.view_webhookevent"},
    "Support": {"integrations.view_webhookevent"},
}


def forwards(apps, schema_editor):
    roles_grant(apps=apps, table=TABLE)


def backwards(apps, schema_editor):
    roles_revoke(apps=apps, table=TABLE)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0003_webhook_events")]

    operations = [migrations.RunPython(forwards, backwards)]
