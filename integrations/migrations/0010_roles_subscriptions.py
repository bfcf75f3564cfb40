"""Subscription permissions for the roles: staff manage their locations' subscriptions."""

from django.db import migrations

from portal.roles import roles_grant, roles_revoke

TABLE = {
    "Agency staff": {
        "integrations.view_subscription",
        "integrations.add_subscription",
        "integrations.change_subscription",
        "integrations.delete_subscription",
        "integrations.run_subscription",
    },
    "Auditor": {"integrations.view_subscription"},
    "Support": {"integrations.view_subscription"},
}


def forwards(apps, schema_editor):
    roles_grant(apps=apps, table=TABLE)


def backwards(apps, schema_editor):
    roles_revoke(apps=apps, table=TABLE)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0009_subscriptions")]

    operations = [migrations.RunPython(forwards, backwards)]
