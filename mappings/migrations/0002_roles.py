"""Agency staff edit mappings (of their locations: scoping is in the admin); auditors read them."""

from django.db import migrations

from portal.roles import roles_grant, roles_revoke

TABLE = {
    "Agency staff": {
        "mappings.view_mapping",
        "mappings.add_mapping",
        "mappings.change_mapping",
        "mappings.view_mappingversion",
    },
    "Auditor": {"mappings.view_mapping", "mappings.view_mappingversion"},
}


def forwards(apps, schema_editor):
    roles_grant(apps=apps, table=TABLE)


def backwards(apps, schema_editor):
    roles_revoke(apps=apps, table=TABLE)


class Migration(migrations.Migration):
    dependencies = [("mappings", "0001_initial"), ("portal", "0002_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
