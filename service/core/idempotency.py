"""Idempotency-Key: a retried POST returns the first response and creates nothing new.

The key is claimed by inserting it in the same transaction as the write; a concurrent retry
waits on the unique key until the first commits, then reads the stored response.
"""

import datetime as dt
import hashlib
import uuid
from typing import Any

from sqlalchemy import Column, DateTime, Integer, Text, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from service.core.errors import Problem

MAX_KEY_LENGTH = 200


class IdempotentRequest(SQLModel, table=True):
    __tablename__ = "idempotent_request"

    token_id: uuid.UUID = Field(primary_key=True)  # the caller's `Principal.key`: a token's id, or a person's
    key: str = Field(sa_column=Column(Text, primary_key=True))
    fingerprint: str = Field(sa_column=Column(Text, nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    body: Any = Field(default=None, sa_column=Column(JSONB, nullable=True))
    created_at: dt.datetime = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


async def claim(
    session: AsyncSession, token_id: uuid.UUID, key: str, request_fingerprint: str
) -> IdempotentRequest | None:
    """Claim the key for this request; the earlier request's record if it was already used."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise Problem(400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.")
    stmt = (
        insert(IdempotentRequest.__table__)
        .values(token_id=token_id, key=key, fingerprint=request_fingerprint)
        .on_conflict_do_nothing()
        .returning(IdempotentRequest.__table__.c.key)
    )
    if (await session.execute(stmt)).first() is not None:
        return None
    earlier = (
        await session.scalars(
            select(IdempotentRequest).where(IdempotentRequest.token_id == token_id, IdempotentRequest.key == key)
        )
    ).one()
    if earlier.fingerprint != request_fingerprint:
        raise Problem(422, "This Idempotency-Key was used for a different request; use a new key.")
    return earlier


async def remember(session: AsyncSession, token_id: uuid.UUID, key: str, status_code: int, body: Any) -> None:
    row = (
        await session.scalars(
            select(IdempotentRequest).where(IdempotentRequest.token_id == token_id, IdempotentRequest.key == key)
        )
    ).one()
    row.status_code = status_code
    row.body = body
