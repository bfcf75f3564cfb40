"""Quarantined records for the roles: everyone reads them; staff and support retry them."""

from django.db import migrations

from portal.roles import roles_migration

TABLE = {
    "Agency staff": {"mappings.view_quarantinedrecord", "mappings.retry_quarantinedrecord"},
    "Auditor": {"mappings.view_quarantinedrecord"},
    "Support": {"mappings.view_quarantinedrecord", "mappings.retry_quarantinedrecord"},
}


class Migration(migrations.Migration):
    dependencies = [("mappings", "0006_quarantine"), ("portal", "0002_roles")]

    operations = [roles_migration(TABLE)]
