"""Export permissions for the roles: auditors and support export logs; staff their own locations' jobs
and webhook events (location scoping decides which rows)."""

from django.db import migrations

from portal.roles import roles_migration

TABLE = {
    "Agency staff": {"integrations.export_job", "integrations.export_webhookevent"},
    "Auditor": {
        "integrations.export_synclog",
        "integrations.export_job",
        "integrations.export_webhookevent",
    },
    "Support": {
        "integrations.export_synclog",
        "integrations.export_job",
        "integrations.export_webhookevent",
    },
}


class Migration(migrations.Migration):
    dependencies = [("integrations", "0007_audit_indexes_and_export")]

    operations = [roles_migration(TABLE)]
