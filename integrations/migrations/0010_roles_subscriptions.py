"""Subscription permissions for the roles: staff manage their locations' subscriptions."""

from django.db import migrations

from portal.roles import roles_migration

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


class Migration(migrations.Migration):
    dependencies = [("integrations", "0009_subscriptions")]

    operations = [roles_migration(TABLE)]
