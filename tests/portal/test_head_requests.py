"""A HEAD answer has no body, whatever the view made: the WSGI server (gunicorn) sends what it is
given, and a kept-alive client that reads no body after a HEAD would read it as the start of its
next answer. Called through the WSGI handler: Django's test client drops HEAD bodies itself and
would hide the fault."""

from wsgiref.util import setup_testing_defaults

import pytest
from django.core.wsgi import get_wsgi_application

pytestmark = pytest.mark.django_db(transaction=True)  # the handler closes connections at the end


def wsgi_call(method, path):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SERVER_NAME": "127.0.0.1"}
    setup_testing_defaults(environ)
    environ["HTTP_HOST"] = "127.0.0.1"
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(headers)

    result = get_wsgi_application()(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return answer["status"], answer["headers"], body


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/static/portal/favicon.svg", "/no-such-page/"]
)
def test_a_head_answer_has_no_body(path):
    _status, get_headers, get_body = wsgi_call("GET", path)
    assert get_body
    _status, headers, body = wsgi_call("HEAD", path)
    assert body == b""
    assert headers.get("Content-Type") == get_headers.get("Content-Type")
