"""The agency is the tenant: auditors and support see the agencies they are members of, no longer
every location; the django-q2 task pages (which do not say whose task a row is) and the span over
every agency go to the "Platform operator" role, which nobody holds by default.

Existing auditors and support of a portal with a single agency become its members (nothing changes
for them); with several agencies a superuser adds each one to their agencies.
"""

from django.db import migrations

from portal.roles import roles_grant, roles_revoke

REVOKED = {
    "Auditor": {
        "portal.view_all_locations",
        "django_q.view_success",
        "django_q.view_failure",
        "django_q.view_schedule",
        "django_q.view_ormq",
        "integrations.view_specdeviation",
    },
    "Support": {
        "portal.view_all_locations",
        "django_q.view_failure",
        "django_q.view_success",
        "integrations.view_specdeviation",
    },
    # spec deviations are counted over every agency's calls: the platform operator's
    "Agency staff": {"integrations.view_specdeviation"},
}

GRANTED = {
    "Auditor": {"portal.view_agency_locations"},
    "Support": {"portal.view_agency_locations"},
    "Platform operator": {
        "portal.view_agency",
        "portal.view_location",
        "portal.view_all_locations",
        "portal.view_auditevent",
        "django_q.view_success",
        "django_q.view_failure",
        "django_q.view_schedule",
        "django_q.view_ormq",
        "integrations.view_highlevelapp",
        "integrations.view_connection",
        "integrations.view_locationmintbatch",
        "integrations.view_synclog",
        "integrations.view_webhookevent",
        "integrations.view_job",
        "integrations.view_jobattempt",
        "integrations.export_synclog",
        "integrations.export_job",
        "integrations.export_webhookevent",
        "integrations.view_subscription",
        "integrations.view_verification",
        "integrations.export_verification",
        "integrations.view_specdeviation",
        "integrations.view_entitycoverage",
        "mappings.view_mapping",
        "mappings.view_mappingversion",
        "mappings.view_quarantinedrecord",
        "mappings.view_mappingtemplate",
        "mappings.view_mappingtemplateversion",
        "mappings.view_rollout",
        "rankr.view_appointment",
        "rankr.view_contact",
        "rankr.view_note",
        "rankr.view_opportunity",
        "rankr.view_poststatistic",
        "rankr.view_rankruser",
        "rankr.view_socialtag",
        "rankr.view_socialtagdetail",
        "rankr.view_task",
        "rankr.view_workflow",
    },
}


def forwards(apps, schema_editor):
    roles_revoke(apps=apps, table=REVOKED)
    roles_grant(apps=apps, table=GRANTED)
    Agency = apps.get_model("portal", "Agency")
    User = apps.get_model("auth", "User")
    if Agency.objects.count() == 1:
        agency = Agency.objects.get()
        agency.members.add(*User.objects.filter(groups__name__in=["Auditor", "Support"]).distinct())


def backwards(apps, schema_editor):
    roles_revoke(apps=apps, table=GRANTED)
    roles_grant(apps=apps, table=REVOKED)
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name="Platform operator", user__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0008_agency_members"),
        ("integrations", "0020_operation_send_permissions"),
        ("mappings", "0007_roles_quarantine"),
        ("rankr", "0006_record_versions"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
