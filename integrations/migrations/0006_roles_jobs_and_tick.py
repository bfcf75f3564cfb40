"""Job permissions for the roles, and the one scheduler tick (a django-q2 schedule).

One schedule row drives all periodic work (due retries, stale leases, and the polling
dispatcher), however many subscriptions there are.
"""

from django.db import migrations

from portal.roles import roles_grant, roles_revoke

TABLE = {
    "Agency staff": {"integrations.view_job"},
    "Auditor": {"integrations.view_job"},
    "Support": {"integrations.view_job", "integrations.rerun_job"},
}
TICK = "portal tick"


def forwards(apps, schema_editor):
    roles_grant(apps=apps, table=TABLE)
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=TICK,
        defaults={
            "func": "integrations.tasks.tick_task",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
        },
    )


def backwards(apps, schema_editor):
    roles_revoke(apps=apps, table=TABLE)
    apps.get_model("django_q", "Schedule").objects.filter(name=TICK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0005_jobs"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
