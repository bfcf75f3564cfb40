"""Rankr records are read by every role: staff and support to help, auditors to review."""

from django.db import migrations

from portal.roles import roles_migration

VIEW_RECORDS = {
    f"rankr.view_{name}"
    for name in (
        "appointment",
        "contact",
        "note",
        "opportunity",
        "poststatistic",
        "rankruser",
        "socialtag",
        "socialtagdetail",
        "task",
        "workflow",
    )
}
TABLE = {"Agency staff": VIEW_RECORDS, "Auditor": VIEW_RECORDS, "Support": VIEW_RECORDS}


class Migration(migrations.Migration):
    dependencies = [("rankr", "0001_initial"), ("portal", "0002_roles")]

    operations = [roles_migration(TABLE)]
