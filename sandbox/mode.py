"""Strict or lenient: how closely the sandbox holds clients to HighLevel's docs and specs.

``SANDBOX_MODE=strict`` (the default; the portal's own tests run this way) answers exactly as
the docs say. ``lenient`` also accepts what HighLevel's newer clients send and its servers take
(the official SDK, gohighlevel-api-client 3.x), listed in ``LENIENCIES`` and in
specs/highlevel/DEFECTS.md ("Strict and lenient").
"""

from django.conf import settings

MODES = ("strict", "lenient")
LENIENCIES = {
    "version-v3": "`Version: v3` where the spec's enum lists only dates",
    "camelcase-token-fields": "camelCase token form fields (clientId, grantType, refreshToken, ...)",
}


def sandbox_lenient() -> bool:
    return getattr(settings, "SANDBOX_MODE", "strict") == "lenient"
