"""System checks for HighLevel connections."""

from django.core.checks import Error, Tags, register
from django.db import DatabaseError


@register(Tags.database)
def check_live_apps_have_credentials(app_configs, databases=None, **kwargs):
    """integrations.E001: a live app without client id or secret cannot connect or refresh.

    Runs with `manage.py check --database default` (and in the deploy checklist); apps are data,
    so the check reads the database.
    """
    if not databases:
        return []
    from integrations.models import HighLevelApp

    try:
        broken = list(
            HighLevelApp.objects.filter(mode=HighLevelApp.Mode.LIVE)
            .filter(client_id="")
            .values_list("name", flat=True)
        ) + list(
            HighLevelApp.objects.filter(mode=HighLevelApp.Mode.LIVE, client_secret_encrypted="")
            .exclude(client_id="")
            .values_list("name", flat=True)
        )
    except DatabaseError:
        return []  # not migrated yet
    return [
        Error(
            f"HighLevel app {name!r} is in live mode without a client id or client secret.",
            hint="Enter both in the admin (HighLevel apps), or switch the app to sandbox mode.",
            id="integrations.E001",
        )
        for name in broken
    ]
