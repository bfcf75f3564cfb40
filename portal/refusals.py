"""The refused-request page: the admin's look, the reason, and a way back.

Django calls :func:`permission_denied` (``handler403`` in ``portal.urls``) for every
``PermissionDenied``; a view that knows why it refuses says so in the exception's message.
"""

import logging

from django.contrib import admin
from django.shortcuts import render

DEFAULT_REASON = "Your role does not allow this page or action."


def refusal_reason(*, user, exception=None) -> str:
    """The exception's own reason, or one naming the user's roles."""
    text = str(exception or "").strip()
    if text:
        return text
    if not getattr(user, "is_authenticated", False):
        return "Sign in first."
    roles = ", ".join(user.groups.values_list("name", flat=True).order_by("name"))
    return f"{DEFAULT_REASON} (your role: {roles})" if roles else DEFAULT_REASON


def permission_denied(request, exception=None):
    context = {
        **admin.site.each_context(request),
        "title": "Not allowed",
        "reason": refusal_reason(user=request.user, exception=exception),
    }
    return render(request, "403.html", context, status=403)


class ForbiddenOneLine(logging.Filter):
    """``django.request`` logs each 403 with a full stack trace: make it one line with the reason.

    Attached to the ``django.request`` logger in ``LOGGING``; other records pass unchanged.
    """

    def filter(self, record):
        if getattr(record, "status_code", None) != 403:
            return True
        request = getattr(record, "request", None)
        exception = record.exc_info[1] if record.exc_info else None
        user = getattr(getattr(request, "user", None), "username", "") or "anonymous"
        record.msg = "Forbidden %s %s (user %s): %s"
        record.args = (
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            user,
            str(exception or "").strip() or "no permission",
        )
        record.exc_info = None
        record.exc_text = None
        return True
