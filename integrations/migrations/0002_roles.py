"""Grant the role groups their integrations permissions (frozen here, as migrations must be)."""

from django.db import migrations

from portal.roles import roles_migration

TABLE = {
    "Agency staff": {
        "integrations.view_connection",
        "integrations.add_connection",
        "integrations.change_connection",
    },
    "Auditor": {
        "integrations.view_highlevelapp",
        "integrations.view_connection",
        "integrations.view_locationmintbatch",
        "integrations.view_synclog",
    },
    "Support": {
        "integrations.view_connection",
        "integrations.view_synclog",
    },
}


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("portal", "0002_roles"),
    ]

    operations = [roles_migration(TABLE)]
