"""Verifications are readable by staff, auditors and support (auditors export them), spec
deviations by the same; and the verifier's daily django-q2 schedule."""

from django.db import migrations

from portal.roles import roles_grant, roles_revoke

TABLE = {
    "Agency staff": {"integrations.view_verification", "integrations.view_specdeviation"},
    "Auditor": {
        "integrations.view_verification",
        "integrations.export_verification",
        "integrations.view_specdeviation",
    },
    "Support": {"integrations.view_verification", "integrations.view_specdeviation"},
}
VERIFIER = "portal verifier"


def forwards(apps, schema_editor):
    roles_grant(apps=apps, table=TABLE)
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=VERIFIER,
        defaults={
            "func": "integrations.interfaces.tasks.verify_all_task",
            "schedule_type": "D",
            "repeats": -1,
        },
    )


def backwards(apps, schema_editor):
    roles_revoke(apps=apps, table=TABLE)
    apps.get_model("django_q", "Schedule").objects.filter(name=VERIFIER).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0016_verifications"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
