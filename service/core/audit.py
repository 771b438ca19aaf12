"""The append-only audit log: who changed what, when, before and after.

The table refuses UPDATE and DELETE (a trigger made by the migration), so an entry, once
written in the same transaction as the change it records, stays.
"""

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Text, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from service.core.auth import Principal


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("audit_entry_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True))
    at: dt.datetime = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    token_id: uuid.UUID | None = Field(default=None)
    role: str = Field(sa_column=Column(Text, nullable=False))
    institution_code: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    action: str = Field(sa_column=Column(Text, nullable=False))
    entity: str = Field(sa_column=Column(Text, nullable=False))
    entity_id: str = Field(sa_column=Column(Text, nullable=False))
    before: dict | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    after: dict | None = Field(default=None, sa_column=Column(JSONB, nullable=True))


async def record(
    session: AsyncSession,
    principal: Principal,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict | None,
    after: dict | None,
) -> None:
    session.add(
        AuditEntry(
            token_id=principal.token_id,
            role=principal.role.value,
            institution_code=principal.institution_code,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            before=before,
            after=after,
        )
    )


async def list_entries(
    session: AsyncSession, *, entity: str | None, entity_id: str | None, after_id: int | None, limit: int
) -> list[AuditEntry]:
    stmt = select(AuditEntry)
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if after_id is not None:
        stmt = stmt.where(AuditEntry.id > after_id)
    return list((await session.scalars(stmt.order_by(AuditEntry.id).limit(limit + 1))).all())
