"""Agency staff see their agencies' mapping templates; auditors read templates, their versions
and rollouts. Changing templates and rolling them out stays with superusers."""

from django.db import migrations

from portal.roles import roles_migration

TABLE = {
    "Agency staff": {"mappings.view_mappingtemplate"},
    "Auditor": {
        "mappings.view_mappingtemplate",
        "mappings.view_mappingtemplateversion",
        "mappings.view_rollout",
    },
}


class Migration(migrations.Migration):
    dependencies = [("mappings", "0004_agency_templates")]

    operations = [roles_migration(TABLE)]
