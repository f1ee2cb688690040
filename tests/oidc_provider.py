"""A real OpenID Connect provider on localhost for the single sign-on tests, built from
Authlib's server components (authorization code grant, OpenID Connect ``OpenIDCode``, PKCE
``CodeChallenge``), served by ``http.server`` in a thread.

What is real: discovery, the authorization endpoint's redirect with ``code`` and ``state``,
client authentication at the token endpoint (client_secret_basic), PKCE S256, one-use codes,
a signed RS256 ID token with ``nonce``, ``amr`` and the test's claims, and the JWKS. What is
short-cut: the provider's own sign-in page. The person the test sets in :attr:`user` is
taken as signed in at the provider (``user = None``: the person cancels, ``access_denied``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, JsonRequest, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin, UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        allowed = {"openid", "email", "profile"}
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return client_secret == self.client_secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic" if endpoint == "token" else True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: dict[str, Any]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        amr = self.user.get("amr")
        return list(amr) if amr else None


class Request(OAuth2Request):
    def __init__(self, method: str, uri: str, headers: dict[str, str], data: dict[str, str]):
        super().__init__(method, uri, headers=headers)
        self.payload = BasicOAuth2Payload(data)
        self._data = data

    @property
    def args(self) -> dict[str, str]:
        return self._data

    @property
    def form(self) -> dict[str, str]:
        return self._data


class Provider:
    """The provider: its clients, codes, signing key and the person signed in at it."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-1", "use": "sig"})
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.user: dict[str, Any] | None = None
        self.token_requests = 0
        self.server = self._server()

    def _server(self) -> AuthorizationServer:
        provider = self

        class Grant(AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic"]

            def save_authorization_code(self, code: str, request: Any) -> None:
                data = request.payload.data
                provider.codes[code] = Code(
                    code=code,
                    client_id=request.client.client_id,
                    redirect_uri=request.payload.redirect_uri,
                    scope=request.scope,
                    user=request.user,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> dict[str, Any]:
                return authorization_code.user

        class OpenID(OpenIDCode):
            def exists_nonce(self, nonce: str, request: Any) -> bool:
                return any(c.nonce == nonce for c in provider.codes.values())

            def resolve_client_private_key(self, client: Client) -> RSAKey:
                return provider.key

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": provider.base, "aud": [client.client_id]}

            def generate_user_info(self, user: dict[str, Any], scope: str) -> UserInfo:
                claims = {k: v for k, v in user.items() if k != "amr"}
                return UserInfo(**claims)

        class Server(AuthorizationServer):
            def query_client(self, client_id: str) -> Client | None:
                return provider.clients.get(client_id)

            def save_token(self, token: dict[str, Any], request: Any) -> None:
                return None

            def create_oauth2_request(self, request: Any) -> OAuth2Request:
                return request if isinstance(request, OAuth2Request) else Request(*request)

            def create_json_request(self, request: Any) -> JsonRequest:
                return JsonRequest(request[0], request[1], request[2])

            def handle_response(
                self, status: int, body: Any, headers: list[tuple[str, str]]
            ) -> tuple[int, Any, list[tuple[str, str]]]:
                return status, body, headers

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                return None

        server = Server()
        server.register_token_generator(
            "default", BearerTokenGenerator(lambda *a, **k: f"at-{time.monotonic_ns()}")
        )
        server.register_grant(Grant, [CodeChallenge(required=True), OpenID(require_nonce=True)])
        return server

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.base,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "jwks_uri": f"{self.base}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def handle(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        path = urlsplit(url).path
        query = dict(parse_qsl(urlsplit(url).query))
        if path == "/.well-known/openid-configuration":
            return 200, self.discovery(), [("Content-Type", "application/json")]
        if path == "/jwks":
            keys = {"keys": [self.key.as_dict(private=False)]}
            return 200, keys, [("Content-Type", "application/json")]
        if path == "/authorize":
            request = Request(method, url, headers, query)
            grant = self.server.get_consent_grant(request, end_user=self.user)
            # no user: the person cancelled at the provider (back with error=access_denied)
            return self.server.create_authorization_response(request, self.user, grant)
        if path == "/token":
            self.token_requests += 1
            form = dict(parse_qsl(body.decode()))
            return self.server.create_token_response(Request(method, url, headers, form))
        return 404, {"error": "not_found"}, []


@contextmanager
def running_provider(port: int) -> Iterator[Provider]:
    """The provider on ``http://localhost:PORT`` in a thread, for the length of the block."""
    provider = Provider(f"http://localhost:{port}")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = f"{provider.base}{self.path}"
            try:
                status, payload, headers = provider.handle(
                    self.command, url, dict(self.headers.items()), body
                )
            except Exception as exc:  # a test should see it, not hang
                status, payload, headers = 500, {"error": repr(exc)}, []
            data = payload if isinstance(payload, str | bytes) else json.dumps(payload)
            raw = data.encode() if isinstance(data, str) else data
            self.send_response(status)
            sent = set()
            for name, value in headers:
                self.send_header(name, value)
                sent.add(name.lower())
            if "content-type" not in sent and raw:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return None

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        httpd.shutdown()
        httpd.server_close()
