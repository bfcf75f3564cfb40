"""Which scope an app needs to receive a webhook event, from the project's copy of Scopes.md.

HighLevel only sends an event to apps holding its scope (docs/oauth/Scopes.md, "Webhook Events"
column; docs/oauth/Faqs.md). Events that table does not list (ContactUpdate, AppointmentCreate,
AppInstall, ...) are sent to every installed app with a webhook URL.
"""

import functools
import re

from django.conf import settings

SCOPES_DOC = settings.BASE_DIR / "specs" / "highlevel" / "docs" / "oauth" / "Scopes.md"


@functools.cache
def event_scopes() -> dict[str, frozenset]:
    """Event type -> the scopes that each grant it."""
    table: dict[str, set] = {}
    scope = None
    try:
        lines = SCOPES_DOC.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    for line in lines:
        if not line.startswith("|") or "---" in line:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] == "Scope":
            continue
        if cells[0] and cells[0] != "&nbsp;":
            scope = cells[0]
        for event in re.split(r"[\s,]+", cells[2].replace("&nbsp;", "")):
            if event and scope:
                table.setdefault(event, set()).add(scope)
    return {event: frozenset(scopes) for event, scopes in table.items()}


# Scopes.md names ConversationUnreadUpdate by its doc file's name (DEFECTS.md D10).
SCOPE_NAMES = {"ConversationUnreadUpdate": "ConversationUnreadWebhook"}


def event_allowed(*, event_type: str, app_scopes: set) -> bool:
    needed = event_scopes().get(SCOPE_NAMES.get(event_type, event_type))
    return needed is None or bool(needed & app_scopes)
