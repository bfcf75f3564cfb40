"""The DEBUG error page never shows tokens, nor the passwords in the database and Redis URLs."""

import sys

from django.test import RequestFactory, override_settings
from django.views.debug import ExceptionReporter

# Built from pieces: the page shows the source around each frame, and must not find them there.
SECRETS = {
    name: name + "-" + "Secret" + str(n)
    for n, name in enumerate(["db-pass", "redis-pass", "at-frame", "auth-frame", "hdr-token"])
}
DB_URL = "postgres://portal:" + SECRETS["db-pass"] + "@db.internal:5432/portal"
REDIS = "redis://:" + SECRETS["redis-pass"] + "@cache.internal:6379/0"


def failing_view(request):
    token = SECRETS["at-frame"]  # noqa: F841  (locals the traceback would show)
    authToken = SECRETS["auth-frame"]  # noqa: F841
    header = "Authorization: Bearer " + SECRETS["hdr-token"]  # noqa: F841
    raise RuntimeError("boom")


@override_settings(
    DEBUG=True, DATABASE_URL=DB_URL, REDIS_URL=REDIS, Q_CLUSTER={"name": "portal", "redis": REDIS}
)
def test_the_debug_page_hides_tokens_and_url_passwords():
    request = RequestFactory().get("/boom/")
    try:
        failing_view(request)
    except RuntimeError:
        html = ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    assert [s for s in SECRETS.values() if s in html] == []
    assert "db.internal" in html and "cache.internal" in html  # the page still says where
