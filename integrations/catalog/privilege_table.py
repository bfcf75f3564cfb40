"""Reviewed exceptions to the privilege classes derived from the specs (method, scopes, spec
file, token type): one row per operation whose derived class is wrong, with the reason.

Printed with the registry (``catalog --json``: ``privilege``); a test checks each key exists.
"""

# operation key -> (class, why)
REVIEWED = {
    "POST /users/": (
        "users",
        "Creates a HighLevel user: the Rankr-user flow sends it under rankr.add_rankruser; "
        "from Run it needs the users permission.",
    ),
    "PUT /users/{userId}": ("users", "Changes a user's roles and permissions."),
    "POST /oauth/locationToken": (
        "agency_write",
        "Mints a location token from an agency token: the portal's own onboarding sends it.",
    ),
    "POST /contacts/upsert": (
        "flow",
        "The Rankr lead flow's write (contacts' natural-key upsert).",
    ),
    "POST /conversations/messages": ("messaging", "Sends an SMS, email or chat message."),
}
