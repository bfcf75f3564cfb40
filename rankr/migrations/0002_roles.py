"""Rankr records are read by every role: staff and support to help, auditors to review."""

from django.db import migrations

from portal.roles import roles_grant, roles_revoke

VIEW_RECORDS = {
    f"rankr.view_{name}"
    for name in (
        "appointment", "contact", "note", "opportunity", "poststatistic", "rankruser",
        "socialtag", "socialtagdetail", "task", "workflow",
    )
}
TABLE = {"Agency staff": VIEW_RECORDS, "Auditor": VIEW_RECORDS, "Support": VIEW_RECORDS}


def forwards(apps, schema_editor):
    roles_grant(apps=apps, table=TABLE)


def backwards(apps, schema_editor):
    roles_revoke(apps=apps, table=TABLE)


class Migration(migrations.Migration):
    dependencies = [("rankr", "0001_initial"), ("portal", "0002_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
