"""The three staff roles and their exact permissions.

Groups are created and granted by data migrations (`portal/migrations/0002_roles.py`, and later
apps' own migrations as they add models), which call :func:`roles_grant` with a frozen table.
``ROLE_PERMISSIONS`` is the current whole table; a test checks the database matches it exactly.
Scoping (which agencies and locations a user sees) lives in :mod:`portal.scoping`: auditors and
support hold ``portal.view_agency_locations`` (every location of the agencies they are members
of); only the platform operator holds ``portal.view_all_locations`` (every agency), and the django-q2
task pages, which do not say whose task a row is, are theirs alone.
"""

AGENCY_STAFF = "Agency staff"
AUDITOR = "Auditor"
SUPPORT = "Support"
# Spans agencies (read-only), and only while PLATFORM_OPERATORS_ENABLED is on: nobody by default.
PLATFORM_OPERATOR = "Platform operator"
ROLE_NAMES = (AGENCY_STAFF, AUDITOR, SUPPORT, PLATFORM_OPERATOR)

_RANKR_VIEW = {
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

# "app_label.codename" per role.
ROLE_PERMISSIONS = {
    AGENCY_STAFF: {
        "portal.view_agency",
        "portal.view_location",
        "integrations.view_connection",
        "integrations.add_connection",
        "integrations.change_connection",
        "integrations.view_webhookevent",
        "integrations.view_job",
        "integrations.view_jobattempt",
        "integrations.export_job",
        "integrations.export_webhookevent",
        "integrations.view_subscription",
        "integrations.view_entitycoverage",
        "integrations.add_subscription",
        "integrations.change_subscription",
        "integrations.delete_subscription",
        "integrations.run_subscription",
        "integrations.view_verification",
        "integrations.view_erasuretombstone",
        "mappings.view_mapping",
        "mappings.add_mapping",
        "mappings.change_mapping",
        "mappings.view_mappingversion",
        "mappings.view_quarantinedrecord",
        "mappings.retry_quarantinedrecord",
        "mappings.view_mappingtemplate",
        *_RANKR_VIEW,
        "rankr.add_contact",
        "rankr.resync_contact",
        # The agency is the controller of its clients' data: its staff answer erasure requests.
        "rankr.erase_contact",
        "rankr.add_rankruser",
        "rankr.delete_rankruser",
    },
    AUDITOR: {
        "portal.view_agency",
        "portal.view_location",
        "portal.view_agency_locations",
        "portal.view_auditevent",
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
        "integrations.view_entitycoverage",
        "integrations.view_erasuretombstone",
        "mappings.view_mapping",
        "mappings.view_mappingversion",
        "mappings.view_quarantinedrecord",
        "mappings.view_mappingtemplate",
        "mappings.view_mappingtemplateversion",
        "mappings.view_rollout",
        *_RANKR_VIEW,
    },
    SUPPORT: {
        "portal.view_agency",
        "portal.view_location",
        "portal.view_agency_locations",
        "integrations.view_connection",
        "integrations.view_synclog",
        "integrations.view_webhookevent",
        "integrations.view_job",
        "integrations.view_jobattempt",
        "integrations.rerun_job",
        "integrations.export_synclog",
        "integrations.export_job",
        "integrations.export_webhookevent",
        "integrations.view_subscription",
        "integrations.view_verification",
        "integrations.view_entitycoverage",
        "mappings.view_quarantinedrecord",
        "mappings.retry_quarantinedrecord",
        *_RANKR_VIEW,
        "rankr.resync_contact",
    },
}

# Spec deviations are counted per operation over every agency's calls: platform data, not an
# agency's, so only the platform operator (and superusers) read them.
ROLE_PERMISSIONS[PLATFORM_OPERATOR] = (
    ROLE_PERMISSIONS[AUDITOR] - {"portal.view_agency_locations"}
) | {
    "integrations.view_specdeviation",
    "portal.view_all_locations",
    "django_q.view_success",
    "django_q.view_failure",
    "django_q.view_schedule",
    "django_q.view_ormq",
}


def roles_grant(*, apps, table):
    """Create the role groups and add the permissions in ``table`` (role -> set of perms).

    Works on historical models inside a migration. Permissions are created first if the
    post_migrate hook has not made them yet, so a fresh database gets them in one `migrate`.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in table.items():
        group, _ = Group.objects.get_or_create(name=role)
        for perm in sorted(perms):
            app_label, codename = perm.split(".", 1)
            try:
                permission = Permission.objects.get(
                    content_type__app_label=app_label, codename=codename
                )
            except Permission.DoesNotExist:
                raise RuntimeError(f"Role {role!r} names unknown permission {perm!r}.") from None
            group.permissions.add(permission)


def roles_revoke(*, apps, table):
    """Reverse of :func:`roles_grant` for a migration's backwards step."""
    Group = apps.get_model("auth", "Group")
    for role, perms in table.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            group.permissions.remove(
                *group.permissions.filter(content_type__app_label=app_label, codename=codename)
            )


def roles_migration(table):
    """The migration operation that grants ``table`` to the roles (and revokes it backwards)."""
    from django.db import migrations

    def forwards(apps, schema_editor):
        roles_grant(apps=apps, table=table)

    def backwards(apps, schema_editor):
        roles_revoke(apps=apps, table=table)

    return migrations.RunPython(forwards, backwards)
