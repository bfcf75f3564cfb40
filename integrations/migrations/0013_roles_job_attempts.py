"""Job attempts are readable by every role that reads jobs."""

from django.db import migrations

from portal.roles import roles_migration

TABLE = {
    "Agency staff": {"integrations.view_jobattempt"},
    "Auditor": {"integrations.view_jobattempt"},
    "Support": {"integrations.view_jobattempt"},
}


class Migration(migrations.Migration):
    dependencies = [("integrations", "0012_job_attempts_and_leases")]

    operations = [roles_migration(TABLE)]
