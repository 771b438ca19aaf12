"""The one resolver of a bearer credential, a machine's token or a person's access token, to a `Principal`;
rate limits, role checks (the OpenAPI scopes) and the audit see only the principal, never which kind it was."""

import time
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.auth.oidc import OidcVerifier
from service.core.auth.principal import Principal, Role, Unauthorized, require_admin
from service.core.auth.tokens import TOKEN_PREFIX, token_principal
from service.core.db import SessionDep
from service.core.limits import RateLimiter, TooManyWrites


async def principal_of(session: AsyncSession, authorization: str | None, oidc: OidcVerifier | None) -> Principal:
    """The caller behind an `Authorization: Bearer …` header; 401 when there is none or it is not valid."""
    if not authorization:
        raise Unauthorized("This operation needs a bearer token (Authorization: Bearer <token>).")
    scheme, _, credential = authorization.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise Unauthorized("The Authorization header must be `Bearer <token>`.")
    if credential.startswith(TOKEN_PREFIX) or oidc is None:
        principal = await token_principal(session, credential)
        if principal is None:
            raise Unauthorized("The token is not valid or has been revoked.")
        return principal
    return await oidc.principal(session, credential)


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def count_write(limiter: RateLimiter, principal: Principal) -> None:
    """One write by this principal, keyed on who it is (the token, or the person), however it was spelled."""
    if wait := limiter.retry_after(f"principal:{principal.key}", time.monotonic()):
        raise TooManyWrites(wait)


# Declares the bearer scheme, so that the OpenAPI document says which operations need a token (and
# `Security(..., scopes=...)` which role); the header itself is read by `principal_of`, whose 401 is a problem.
bearer_token = HTTPBearer(
    auto_error=False,
    scheme_name="bearerToken",
    description="An opaque token issued by `make token` (stored only as a hash), or an access token (JWT) of the "
    "configured OpenID Connect provider; reads need none.",
)


async def current_principal(
    request: Request, session: SessionDep, _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_token)]
) -> Principal:
    principal = await principal_of(session, request.headers.get("authorization"), request.app.state.oidc)
    request.state.principal = principal.describe()  # for the access log
    if request.method in WRITE_METHODS:
        count_write(request.app.state.write_limiter, principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def current_admin(principal: PrincipalDep) -> Principal:
    require_admin(principal)
    return principal


AdminDep = Annotated[Principal, Security(current_admin, scopes=[Role.admin.value])]
