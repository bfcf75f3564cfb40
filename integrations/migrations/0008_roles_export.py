"""Export permissions for the roles: auditors and support export logs; staff their own locations' jobs
and webhook events (location scoping decides which rows)."""

from django.db import migrations

from portal.roles import roles_grant, roles_revoke

TABLE = {
    "Agency staff": {"integrations.export_job", "integrations.export_webhookevent"},
    "Auditor": {
        "integrations.export_synclog", "integrations.export_job", "integrations.export_webhookevent",
    },
    "Support": {
        "integrations.export_synclog", "integrations.export_job", "integrations.export_webhookevent",
    },
}


def forwards(apps, schema_editor):
    roles_grant(apps=apps, table=TABLE)


def backwards(apps, schema_editor):
    roles_revoke(apps=apps, table=TABLE)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0007_audit_indexes_and_export")]

    operations = [migrations.RunPython(forwards, backwards)]
