"""The task entry points moved to ``integrations.interfaces.tasks``: point the stored schedules there.

Tasks already queued keep working through the alias module ``integrations.tasks``.
"""

from django.db import migrations

OLD = "integrations.tasks."
NEW = "integrations.interfaces.tasks."
NAMES = ("tick_task", "job_run_task", "mint_batch_task", "webhook_event_process_task")


def _move(apps, source, target):
    Schedule = apps.get_model("django_q", "Schedule")
    for name in NAMES:
        Schedule.objects.filter(func=source + name).update(func=target + name)


def forwards(apps, schema_editor):
    _move(apps, OLD, NEW)


def backwards(apps, schema_editor):
    _move(apps, NEW, OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0010_roles_subscriptions"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
