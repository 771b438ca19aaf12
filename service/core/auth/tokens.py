"""Machines' bearer tokens: issued by a command (`make token`), stored only as a hash."""

import datetime as dt
import hashlib
import secrets
import uuid

from sqlalchemy import Column, DateTime, ForeignKey, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from service.core.auth.principal import Principal, Role

TOKEN_PREFIX = "iem_"


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


async def token_principal(session: AsyncSession, token: str) -> Principal | None:
    """The principal of a token issued here and not revoked, else None."""
    stmt = select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    row = (await session.scalars(stmt)).first()
    if row is None:
        return None
    return Principal(
        token_id=row.id, role=Role(row.role), institution_id=row.institution_id, institution_code=row.institution_code
    )
