"""Bearer tokens: issued by a command, stored only as a hash, checked on every write."""

import datetime as dt
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Column, DateTime, ForeignKey, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from service.core.db import SessionDep
from service.core.errors import Problem
from service.core.limits import RateLimiter, TooManyWrites

TOKEN_PREFIX = "iem_"


class Role(StrEnum):
    agency = "agency"  # bound to one institution
    admin = "admin"  # the ministry: may do everything
    seed = "seed"  # the seed loader (`python -m service seed`); no token has this role


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: uuid.UUID = Field(primary_key=True, default_factory=uuid.uuid4)
    token_hash: str = Field(sa_column=Column(Text, unique=True, nullable=False))
    role: Role = Field(sa_column=Column(Text, nullable=False))
    institution_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("institution.id"), nullable=True)
    )
    institution_code: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    label: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    revoked_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, role and institution."""

    token_id: uuid.UUID | None  # None only for SEED, which acts from the command line
    role: Role
    institution_id: uuid.UUID | None
    institution_code: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    def describe(self) -> str:
        return f"{self.role.value}:{self.institution_code or '-'}"


SEED = Principal(token_id=None, role=Role.seed, institution_id=None, institution_code=None)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def create_token(
    session: AsyncSession, role: Role, institution_id: uuid.UUID | None, institution_code: str | None, label: str | None
) -> tuple[ApiToken, str]:
    """A new token; the clear text is returned once and never stored."""
    if role == Role.agency and institution_id is None:
        raise ValueError("an agency token is bound to an institution")
    token = new_token()
    row = ApiToken(
        token_hash=hash_token(token),
        role=role,
        institution_id=institution_id,
        institution_code=institution_code,
        label=label,
    )
    session.add(row)
    await session.flush()
    return row, token


async def revoke_token(session: AsyncSession, token_id: uuid.UUID) -> bool:
    row = await session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = dt.datetime.now(dt.UTC)
    return True


class Unauthorized(Problem):
    def __init__(self, detail: str):
        super().__init__(401, detail, headers={"WWW-Authenticate": 'Bearer realm="api"'})


class Forbidden(Problem):
    def __init__(self, detail: str):
        super().__init__(403, detail)


async def principal_of(session: AsyncSession, authorization: str | None) -> Principal:
    """The caller behind an `Authorization: Bearer …` header; 401 when there is none or it is not valid."""
    if not authorization:
        raise Unauthorized("This operation needs a bearer token (Authorization: Bearer <token>).")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be `Bearer <token>`.")
    stmt = select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip()), ApiToken.revoked_at.is_(None))
    row = (await session.scalars(stmt)).first()
    if row is None:
        raise Unauthorized("The token is not valid or has been revoked.")
    return Principal(
        token_id=row.id, role=Role(row.role), institution_id=row.institution_id, institution_code=row.institution_code
    )


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def count_write(limiter: RateLimiter, principal: Principal) -> None:
    """One write by this principal: keyed on the resolved token, however its header was spelled."""
    if wait := limiter.retry_after(f"token:{principal.token_id}", time.monotonic()):
        raise TooManyWrites(wait)


# Declares the bearer scheme, so that the OpenAPI document says which operations need a token (and
# `Security(..., scopes=...)` which role); the header itself is read by `principal_of`, whose 401 is a problem.
bearer_token = HTTPBearer(
    auto_error=False,
    scheme_name="bearerToken",
    description="An opaque token issued by `make token` (stored only as a hash); reads need none.",
)


async def current_principal(
    request: Request, session: SessionDep, _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_token)]
) -> Principal:
    principal = await principal_of(session, request.headers.get("authorization"))
    request.state.principal = principal.describe()  # for the access log
    if request.method in WRITE_METHODS:
        count_write(request.app.state.write_limiter, principal)
    return principal


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only an admin token may do this.")


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def current_admin(principal: PrincipalDep) -> Principal:
    require_admin(principal)
    return principal


AdminDep = Annotated[Principal, Security(current_admin, scopes=[Role.admin.value])]
