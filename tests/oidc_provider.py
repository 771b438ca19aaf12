"""A real OpenID Connect provider on 127.0.0.1 for the tests: the `oidc-provider-mock` package (authlib's
authorization server on Flask) in a thread, issuing JWT access tokens (RFC 9068) as Keycloak does, signed with
the key its JWKS publishes. It also counts the JWKS fetches, can rotate its key and answers CORS for the
explorers' sign-in from the browser."""

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import flask
import httpx
import oidc_provider_mock
import oidc_provider_mock._app
import werkzeug.serving
from authlib import jose
from authlib.oauth2.rfc7636 import CodeChallenge
from joserfc import jwt
from joserfc.jwk import RSAKey

AUDIENCE = "interior-api"


@dataclass
class Provider:
    url: str
    app: flask.Flask
    # A public client (no secret), as the explorers are; the mock takes any client id and redirect URI.
    client_id: str = "interior-explorer"
    server: werkzeug.serving.BaseWSGIServer | None = None
    jwks_fetches: int = 0
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "key-1"}))
    access_token_claims: dict = field(default_factory=dict)  # added to (or replacing) the next tokens' claims

    def storage(self):
        with self.app.test_request_context():
            self.app.preprocess_request()
            return flask.g.oidc_provider_mock_storage

    def stop(self) -> None:
        """The provider goes away: nothing listens on its port any more."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def authorization_server(self):
        with self.app.test_request_context():
            self.app.preprocess_request()
            return flask.g._authlib_authorization_server

    def use_key(self, key: RSAKey) -> None:
        """The provider signs with this key from now on and publishes only it (a key rotation)."""
        self.key = key
        self.storage().jwk = jose.RSAKey.import_key(key.as_dict(private=True))

    def sign(self, claims: dict, *, key: RSAKey | None = None, header: dict | None = None) -> str:
        """A token as this provider would issue it (or with another key or header, to be refused)."""
        key = key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid} | (header or {}), claims, key)

    def claims(self, sub: str, **extra) -> dict:
        now = int(time.time())
        return {"iss": self.url, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 300} | extra

    def sign_in(self, sub: str, redirect_uri: str = "http://127.0.0.1:9/signed-in") -> dict:
        """The authorization-code flow with PKCE, as a browser and a public client go through it: the token answer."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(8)
        query = {
            "response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
            "scope": "openid profile", "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
        }  # fmt: skip
        with httpx.Client(base_url=self.url) as browser:
            form = browser.get("/oauth2/authorize", params=query)
            assert form.status_code == 200, form.text
            answer = browser.post("/oauth2/authorize", params=query, data={"sub": sub, "action": "authorize"})
            assert answer.status_code == 302, answer.text
            returned = parse_qs(urlsplit(answer.headers["location"]).query)
            assert returned["state"] == [state]
            token = browser.post("/oauth2/token", data={
                "grant_type": "authorization_code", "code": returned["code"][0], "redirect_uri": redirect_uri,
                "client_id": self.client_id, "code_verifier": verifier,
            })  # fmt: skip
            assert token.status_code == 200, token.text
            return token.json()


class PublicClientCodeGrant(oidc_provider_mock._app.AuthorizationCodeGrant):
    """The mock's code grant, for a public client (no secret) as the explorers are: Keycloak's public clients."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    challenges: dict[str, tuple[str, str]] = {}  # code → (code_challenge, method); the mock's codes keep neither

    def save_authorization_code(self, code: str, request) -> None:
        super().save_authorization_code(code, request)
        data = request.payload.data
        self.challenges[code] = (data.get("code_challenge"), data.get("code_challenge_method", "plain"))


class StoredCodeChallenge(CodeChallenge):
    """PKCE (RFC 7636), checking the verifier against the challenge the code was issued for."""

    def get_authorization_code_challenge(self, authorization_code) -> str | None:
        return PublicClientCodeGrant.challenges.get(authorization_code.code, (None, None))[0]

    def get_authorization_code_challenge_method(self, authorization_code) -> str | None:
        return PublicClientCodeGrant.challenges.get(authorization_code.code, (None, None))[1]


def _accept_public_clients_with_pkce(provider: "Provider") -> None:
    """The mock registers its code grant for confidential clients only; put a public client's grant, which
    must prove PKCE (authlib's CodeChallenge), before it in the provider's grant registry."""
    server = provider.authorization_server()
    (grant, extensions), *_ = server._authorization_grants
    public = (PublicClientCodeGrant, [*extensions, StoredCodeChallenge(required=True)])
    server._authorization_grants.insert(0, public)
    server._token_grants.insert(0, public)


def _provider_app(users: list[oidc_provider_mock.User]) -> tuple[flask.Flask, list[Provider]]:
    app = flask.Flask("oidc_provider_mock")  # the package's templates (its sign-in form) are found beside it
    holder: list[Provider] = []

    def jwt_access_token(client, grant_type, user, scope) -> str:
        # RFC 9068: the access token is a JWT for the API (aud), carrying the person's claims.
        provider = holder[0]
        claims = provider.claims(user.sub, client_id=client.id, scope=scope) | user.claims
        return provider.sign(claims | provider.access_token_claims)

    app.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = jwt_access_token
    oidc_provider_mock.init_app(app, user_claims=users)
    app.secret_key = secrets.token_bytes(16)

    @app.after_request
    def cors(response: flask.Response) -> flask.Response:
        # Keycloak answers CORS for a client's web origins: the explorers exchange the code from the browser.
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        return response

    return app, holder


@contextmanager
def running_provider(users: list[oidc_provider_mock.User]) -> Iterator[Provider]:
    app, holder = _provider_app(users)
    counted = app.wsgi_app

    def counting(environ, start_response):
        if environ.get("PATH_INFO") == "/jwks":
            holder[0].jwks_fetches += 1
        return counted(environ, start_response)

    app.wsgi_app = counting
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    provider = Provider(url=f"http://127.0.0.1:{server.server_port}", app=app, server=server)
    holder.append(provider)
    provider.use_key(provider.key)
    _accept_public_clients_with_pkce(provider)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        provider.stop()
        thread.join(timeout=5)
