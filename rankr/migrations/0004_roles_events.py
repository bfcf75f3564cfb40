"""Rankr events for the roles: staff add leads and Rankr users (sent to HighLevel), delete Rankr
users, and resync contacts; support resyncs contacts."""

from django.db import migrations

from portal.roles import roles_grant, roles_revoke

TABLE = {
    "Agency staff": {
        "rankr.add_contact", "rankr.resync_contact", "rankr.add_rankruser", "rankr.delete_rankruser",
    },
    "Support": {"rankr.resync_contact"},
}


def forwards(apps, schema_editor):
    roles_grant(apps=apps, table=TABLE)


def backwards(apps, schema_editor):
    roles_revoke(apps=apps, table=TABLE)


class Migration(migrations.Migration):
    dependencies = [("rankr", "0003_resync_permission"), ("rankr", "0002_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
