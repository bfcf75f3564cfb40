"""A small real OpenID Connect provider for tests: discovery, JWKS, authorize (a consent page
with one button), token (authorization code, client_secret_post or basic) and userinfo, with
RS256-signed id tokens. It runs over HTTP in a thread: ``with OidcProvider() as idp: ...``.

``idp.claims`` are the claims of the person who signs in there (tests change them between
sign-ins); ``idp.refuse`` makes the consent page answer ``error=access_denied``.
"""

import base64
import html
import json
import secrets
import threading
import time
from urllib.parse import parse_qs, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class _ThreadingServer(WSGIServer):
    daemon_threads = True


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class OidcProvider:
    def __init__(self, *, client_id="portal-client", client_secret="idp-secret-0123456789"):  # noqa: S107 (a test provider's own secret)
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(4)
        self.claims = {
            "sub": "idp-user-1",
            "email": "staffer@example.test",
            "email_verified": True,
            "name": "Sam Staffer",
        }
        self.refuse = False
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.token_requests = 0
        self._server = make_server(
            "127.0.0.1", 0, self.app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    # --- endpoints -------------------------------------------------------------------------
    def app(self, environ, start_response):
        path = environ["PATH_INFO"]
        method = environ["REQUEST_METHOD"]
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        body = {}
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length).decode()
            body = {k: v[0] for k, v in parse_qs(raw).items()}
        routes = {
            "/.well-known/openid-configuration": self.discovery,
            "/jwks": self.jwks,
            "/authorize": self.authorize,
            "/token": self.token,
            "/userinfo": self.userinfo,
        }
        handler = routes.get(path)
        if handler is None:
            return self._send(start_response, "404 Not Found", {"error": "not_found"})
        return handler(environ, start_response, query, body)

    def discovery(self, environ, start_response, query, body):
        return self._send(
            start_response,
            "200 OK",
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
            },
        )

    def jwks(self, environ, start_response, query, body):
        numbers = self.key.public_key().public_numbers()
        key = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid}
        key.update({"n": _b64(numbers.n), "e": _b64(numbers.e)})
        return self._send(start_response, "200 OK", {"keys": [key]})

    def authorize(self, environ, start_response, query, body):
        params = query if environ["REQUEST_METHOD"] == "GET" else body
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return self._send(start_response, "400 Bad Request", {"error": "invalid_request"})
        if environ["REQUEST_METHOD"] == "GET":  # the consent page
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in params.items()
            )
            page = (
                "<!doctype html><title>Test identity provider</title>"
                "<h1>Test identity provider</h1>"
                f"<p>Signed in here as {html.escape(self.claims.get('email', ''))}.</p>"
                f'<form method="post" action="/authorize">{hidden}'
                '<button type="submit" id="approve">Continue to the portal</button></form>'
            )
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [page.encode()]
        redirect = params["redirect_uri"]
        if self.refuse:
            answer = {"error": "access_denied", "state": params.get("state", "")}
        else:
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "redirect_uri": redirect,
                "nonce": params.get("nonce"),
                "claims": dict(self.claims),
            }
            answer = {"code": code, "state": params.get("state", "")}
        start_response("302 Found", [("Location", f"{redirect}?{urlencode(answer)}")])
        return [b""]

    def token(self, environ, start_response, query, body):
        self.token_requests += 1
        client_id, client_secret = body.get("client_id"), body.get("client_secret")
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return self._send(start_response, "401 Unauthorized", {"error": "invalid_client"})
        grant = self.codes.pop(body.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != body.get("redirect_uri"):
            return self._send(start_response, "400 Bad Request", {"error": "invalid_grant"})
        access = secrets.token_urlsafe(24)
        self.tokens[access] = grant["claims"]
        now = int(time.time())
        id_claims = {
            **grant["claims"],
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
        }
        if grant["nonce"]:
            id_claims["nonce"] = grant["nonce"]
        id_token = jwt.encode(id_claims, self.key, algorithm="RS256", headers={"kid": self.kid})
        return self._send(
            start_response,
            "200 OK",
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            },
        )

    def userinfo(self, environ, start_response, query, body):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        claims = self.tokens.get(auth.removeprefix("Bearer "))
        if claims is None:
            return self._send(start_response, "401 Unauthorized", {"error": "invalid_token"})
        return self._send(start_response, "200 OK", claims)

    @staticmethod
    def _send(start_response, status, payload):
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(payload).encode()]
