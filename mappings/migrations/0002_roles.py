"""Agency staff edit mappings (of their locations: scoping is in the admin); auditors read them."""

from django.db import migrations

from portal.roles import roles_migration

TABLE = {
    "Agency staff": {
        "mappings.view_mapping",
        "mappings.add_mapping",
        "mappings.change_mapping",
        "mappings.view_mappingversion",
    },
    "Auditor": {"mappings.view_mapping", "mappings.view_mappingversion"},
}


class Migration(migrations.Migration):
    dependencies = [("mappings", "0001_initial"), ("portal", "0002_roles")]

    operations = [roles_migration(TABLE)]
