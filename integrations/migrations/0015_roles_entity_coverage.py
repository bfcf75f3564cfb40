"""Coverage permissions for the roles: everyone who sees subscriptions sees coverage."""

from django.db import migrations

from portal.roles import roles_migration

TABLE = {
    "Agency staff": {"integrations.view_entitycoverage"},
    "Auditor": {"integrations.view_entitycoverage"},
    "Support": {"integrations.view_entitycoverage"},
}


class Migration(migrations.Migration):
    dependencies = [("integrations", "0014_location_plans_and_coverage")]

    operations = [roles_migration(TABLE)]
