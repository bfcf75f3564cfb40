"""Create the three role groups with their permissions (frozen here, as migrations must be)."""

from django.db import migrations

from portal.roles import roles_migration

TABLE = {
    "Agency staff": {"portal.view_agency", "portal.view_location"},
    "Auditor": {
        "portal.view_agency",
        "portal.view_location",
        "portal.view_all_locations",
        "portal.view_auditevent",
        "django_q.view_success",
        "django_q.view_failure",
        "django_q.view_schedule",
        "django_q.view_ormq",
    },
    "Support": {
        "portal.view_agency",
        "portal.view_location",
        "portal.view_all_locations",
        "django_q.view_failure",
        "django_q.view_success",
    },
}


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [roles_migration(TABLE)]
