"""People's access tokens: JWTs from the configured OpenID Connect issuers, verified with joserfc.

Each issuer's discovery document and key set (JWKS) are fetched at the first token that names it and kept.
A token signed with a key the set lacks makes the set be fetched again (key rotation), at most once per
`refetch_interval_s` per issuer, however many such tokens arrive; a set older than `keys_max_age_s` is
refreshed the same way, and kept if the provider does not answer. So while the provider is down, tokens
signed with the kept keys keep working, and one signed with any other key is a 503: never accepted unverified.
Only asymmetric signatures count: a token with `alg: none` or an HMAC (which would make a public key a
secret) is refused before any key is looked at.
"""

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError
from joserfc.jwk import Key, KeySet
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.auth.principal import Forbidden, Principal, Role, Unauthorized
from service.core.errors import Problem, quoted

log = logging.getLogger(__name__)

ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_ASYMMETRIC_KEY_TYPES = {"RSA", "EC", "OKP"}
MAX_DOCUMENT_BYTES = 512_000  # a discovery document or key set; real ones are a few kB
MAX_SUBJECT_CHARS, MAX_NAME_CHARS = 255, 200  # OpenID Connect Core: `sub` is at most 255 ASCII characters
RETRY_AFTER_S = 30

InstitutionLookup = Callable[[AsyncSession, str], Awaitable[tuple[uuid.UUID, str] | None]]
"""(id, code) of the institution with this code or alias, else None (the registry's, given by the app)."""


@dataclass(frozen=True)
class OidcConfig:
    issuers: tuple[str, ...]
    audience: str
    role_claim: str = "role"
    institution_claim: str = "institution"
    name_claim: str = "name"
    leeway_s: int = 30
    refetch_interval_s: float = 60
    keys_max_age_s: float = 3600
    timeout_s: float = 5


class ProviderUnavailable(Problem):
    def __init__(self, detail: str):
        super().__init__(503, detail, headers={"Retry-After": str(RETRY_AFTER_S)})


class _FetchFailed(Exception):
    pass


class Issuer:
    """One configured issuer: its endpoints and kept keys, and when they were last fetched."""

    def __init__(self, url: str, config: OidcConfig, client: Callable[[], httpx.AsyncClient]) -> None:
        self.url, self.config, self._client = url, config, client
        self.metadata: dict[str, Any] | None = None
        self.keys: KeySet | None = None
        self.fetched_at: float | None = None  # the last attempt, whether it succeeded or not
        self.keys_at: float | None = None  # the last success
        self.failure: str | None = None  # why the last attempt failed
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str | None) -> Key:
        if (key := self._find(kid)) is not None and not self._stale():
            return key
        async with self._lock:  # one fetch for all the requests that need it
            key = self._find(kid)
            if key is not None and not self._stale():
                return key
            if self.fetched_at is None or time.monotonic() - self.fetched_at >= self.config.refetch_interval_s:
                await self._fetch()
                key = self._find(kid)
        if key is not None:
            return key
        if self.failure is not None:
            raise ProviderUnavailable(
                f"The token is signed with a key (kid {quoted(kid)}) this service has not kept, and the identity "
                f"provider {self.url} could not be asked for its keys ({self.failure}). Try again in a minute; "
                "tokens signed with keys it already has keep working meanwhile."
            )
        raise Unauthorized(
            f"The token is signed with a key (kid {quoted(kid)}) that is not among the keys {self.url} publishes; "
            "sign in again to get a token from the provider."
        )

    async def endpoints(self) -> dict[str, Any]:
        """The discovery document, fetched at most once per refetch interval while the provider does not answer."""
        if self.metadata is None:
            async with self._lock:
                if self.metadata is None and (
                    self.fetched_at is None or time.monotonic() - self.fetched_at >= self.config.refetch_interval_s
                ):
                    await self._fetch()
        if self.metadata is None:
            raise ProviderUnavailable(
                f"The identity provider {self.url} could not be reached ({self.failure}); try again in a minute."
            )
        return self.metadata

    def _stale(self) -> bool:
        if self.keys_at is None or time.monotonic() - self.keys_at < self.config.keys_max_age_s:
            return False
        return self.fetched_at is None or time.monotonic() - self.fetched_at >= self.config.refetch_interval_s

    def _find(self, kid: str | None) -> Key | None:
        if self.keys is None:
            return None
        try:
            return self.keys.get_by_kid(kid)
        except JoseError:
            return None

    async def _fetch(self) -> None:
        """Fetch the keys again; on failure the kept ones stay and `failure` says why."""
        self.fetched_at = time.monotonic()
        try:
            metadata = self.metadata or await self._document(self.url.rstrip("/") + "/.well-known/openid-configuration")
            if metadata.get("issuer") != self.url:
                raise _FetchFailed(f"its discovery document names the issuer {quoted(metadata.get('issuer'))}")
            self.metadata = metadata
            published = await self._document(str(metadata["jwks_uri"]))
            signing = [
                key for key in published.get("keys", [])
                if isinstance(key, dict) and key.get("kty") in _ASYMMETRIC_KEY_TYPES and key.get("use", "sig") == "sig"
            ]  # fmt: skip
            self.keys, self.keys_at, self.failure = KeySet.import_key_set({"keys": signing}), time.monotonic(), None
        except (_FetchFailed, httpx.HTTPError, ValueError, KeyError, TypeError, JoseError) as error:
            self.failure = str(error)[:200] or type(error).__name__
            log.warning("identity provider %s: keys not fetched: %s", self.url, self.failure)

    async def _document(self, url: str) -> dict[str, Any]:
        async with self._client().stream("GET", url, headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise _FetchFailed(f"{url} answered {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise _FetchFailed(f"{url} sent more than {MAX_DOCUMENT_BYTES} bytes")
        document = json.loads(body)
        if not isinstance(document, dict):
            raise _FetchFailed(f"{url} did not send a JSON object")
        return document


def _claim(claims: dict[str, Any], name: str) -> Any:
    """A claim by name; a dotted name reaches into objects (Keycloak's `resource_access.<client>.roles`)."""
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class OidcVerifier:
    """Verifies access tokens of the configured issuers and turns their claims into a `Principal`."""

    def __init__(self, config: OidcConfig, find_institution: InstitutionLookup) -> None:
        self.config = config
        self.find_institution = find_institution
        self._http: httpx.AsyncClient | None = None
        self.issuers = {url: Issuer(url, config, self._client) for url in config.issuers}

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.config.timeout_s, follow_redirects=False)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def sign_in_endpoints(self) -> tuple[str, str]:
        """The first issuer's authorization and token endpoints, where the explorers sign people in."""
        metadata = await next(iter(self.issuers.values())).endpoints()
        try:
            return str(metadata["authorization_endpoint"]), str(metadata["token_endpoint"])
        except KeyError as missing:
            raise ProviderUnavailable(f"The identity provider's discovery document has no {missing}.") from None

    async def claims(self, token: str) -> dict[str, Any]:
        """The token's claims once its signature, issuer, audience and validity period are checked; else 401."""
        try:
            extracted = jws.extract_compact(token.encode())
            header, unverified = extracted.headers(), json.loads(extracted.payload)
        except (JoseError, ValueError, TypeError):
            raise Unauthorized(
                "The bearer token is neither a token from `make token` nor a well-formed JWT access token."
            ) from None
        alg = header.get("alg")
        if alg not in ASYMMETRIC_ALGORITHMS:
            raise Unauthorized(
                f"The token is signed with alg {quoted(alg)}; only asymmetric signatures "
                f"({', '.join(ASYMMETRIC_ALGORITHMS)}) of a configured identity provider are accepted."
            )
        issued_by = unverified.get("iss") if isinstance(unverified, dict) else None
        issuer = self.issuers.get(issued_by) if isinstance(issued_by, str) else None
        if issuer is None:
            raise Unauthorized(
                f"The token's issuer {quoted(issued_by)} is not one this service accepts "
                f"({', '.join(self.issuers)}); sign in with the ministry's identity provider."
            )
        kid = header.get("kid")
        key = await issuer.key_for(kid if isinstance(kid, str) else None)
        try:
            claims = jwt.decode(token, key, algorithms=[alg]).claims
        except BadSignatureError:
            raise Unauthorized("The token's signature does not verify: it was changed after it was signed.") from None
        except JoseError as error:
            raise Unauthorized(f"The token is not valid: {error.description}") from None
        self._check_claims(claims, issuer.url)
        return claims

    def _check_claims(self, claims: dict[str, Any], issuer: str) -> None:
        registry = jwt.JWTClaimsRegistry(
            leeway=self.config.leeway_s,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": self.config.audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise Unauthorized("The token has expired; sign in again for a new one.") from None
        except MissingClaimError as error:
            raise Unauthorized(f"The token lacks the claim(s) {error.claim}, which this service needs.") from None
        except InvalidClaimError as error:
            raise Unauthorized(self._invalid_claim(error.claim, claims)) from None
        if len(claims["sub"]) > MAX_SUBJECT_CHARS:
            raise Unauthorized(f"The token's `sub` is longer than {MAX_SUBJECT_CHARS} characters.")

    def _invalid_claim(self, claim: str, claims: dict[str, Any]) -> str:
        if claim == "nbf":
            return "The token is not valid yet (its `nbf` is in the future); check the clock, or try again shortly."
        if claim == "aud":
            return (
                f"The token is meant for {quoted(claims.get('aud'))}, not for this service "
                f"({quoted(self.config.audience)}); the provider's client needs an audience mapper for it."
            )
        return f"The token's claim `{claim}` is not valid."

    async def principal(self, session: AsyncSession, token: str) -> Principal:
        """The person behind a verified token: role and institution from the configured claims, else 403."""
        claims = await self.claims(token)
        role_claim, institution_claim = self.config.role_claim, self.config.institution_claim
        roles = _values(_claim(claims, role_claim))
        if Role.admin.value in roles:
            role = Role.admin
        elif Role.agency.value in roles:
            role = Role.agency
        else:
            raise Forbidden(
                f"The token's role claim `{role_claim}` holds {quoted(', '.join(roles) or 'nothing')}; this "
                "service knows `admin` and `agency`. Ask the identity provider's administrator to map your role."
            )
        codes = _values(_claim(claims, institution_claim))
        institution_id = institution_code = None
        if codes:
            if len(codes) > 1:
                raise Forbidden(f"The token's `{institution_claim}` claim names more than one institution.")
            found = await self.find_institution(session, codes[0])
            if found is None:
                raise Forbidden(
                    f"The institution {quoted(codes[0])} named by the token's `{institution_claim}` claim is not one "
                    "this service knows (GET /api/v1/institutions lists them); ask the ministry to add it or to "
                    "correct the claim."
                )
            institution_id, institution_code = found
        elif role == Role.agency:
            raise Forbidden(
                f"An agency's token must name its institution in the `{institution_claim}` claim; this one does not."
            )
        name = _claim(claims, self.config.name_claim) or claims.get("preferred_username")
        return Principal(
            token_id=None,
            role=role,
            institution_id=institution_id,
            institution_code=institution_code,
            issuer=claims["iss"],
            subject=claims["sub"],
            name=name[:MAX_NAME_CHARS] if isinstance(name, str) else None,
        )
