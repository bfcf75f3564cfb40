"""Rankr events for the roles: staff add leads and Rankr users (sent to HighLevel), delete Rankr
users, and resync contacts; support resyncs contacts."""

from django.db import migrations

from portal.roles import roles_migration

TABLE = {
    "Agency staff": {
        "rankr.add_contact",
        "rankr.resync_contact",
        "rankr.add_rankruser",
        "rankr.delete_rankruser",
    },
    "Support": {"rankr.resync_contact"},
}


class Migration(migrations.Migration):
    dependencies = [("rankr", "0003_resync_permission"), ("rankr", "0002_roles")]

    operations = [roles_migration(TABLE)]
