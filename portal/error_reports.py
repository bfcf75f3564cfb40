"""What Django's DEBUG error page (and error e-mails) may show: never a token or a password.

Django's ``SafeExceptionReporterFilter`` hides settings named like API/TOKEN/KEY/SECRET/PASS; the
portal also keeps its URLs with credentials (``DATABASE_URL``, ``REDIS_URL``, the broker URL inside
``Q_CLUSTER``), frame variables named like secrets (``token``, ``access_token``, ``authToken``)
and anything that reads as a bearer token or ``key=secret`` pair off the page.
"""

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

from portal.redact import is_secret_key, text_mask

_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/@\s:]*)(?::[^/@\s]*)?@")


def credentials_mask(text: str) -> str:
    """``postgres://bob:pw@db/x`` -> ``postgres://********************@db/x``."""
    return _URL_CREDENTIALS.sub(
        lambda m: m[1] + SafeExceptionReporterFilter.cleansed_substitute + "@", text
    )


class PortalExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CREDENTIAL|AUTH|DATABASE_URL|REDIS_URL",
        flags=re.IGNORECASE,
    )

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        value = super().cleanse_setting(key, value)
        if isinstance(value, str) and value != self.cleansed_substitute:
            return credentials_mask(text_mask(value))
        return value

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        cleansed = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if is_secret_key(name):
                shown = self.cleansed_substitute
            elif isinstance(value, str):
                shown = credentials_mask(text_mask(value))
            else:
                shown = value
            cleansed.append((name, shown))
        return cleansed
