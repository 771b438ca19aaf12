"""Tombstones: a deleted entity leaves its id and the time, so integrators syncing with
`updated_since` / the changes feed learn of the deletion."""

import datetime as dt
import uuid

from sqlalchemy import Column, DateTime, Index, Text, func
from sqlmodel import Field, SQLModel


class Tombstone(SQLModel, table=True):
    __tablename__ = "tombstone"
    __table_args__ = (Index("tombstone_deleted_at", "deleted_at", "entity", "entity_id"),)

    id: uuid.UUID = Field(primary_key=True, default_factory=uuid.uuid4)
    entity: str = Field(sa_column=Column(Text, nullable=False))
    entity_id: uuid.UUID
    deleted_at: dt.datetime = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    deleted_by: str = Field(sa_column=Column(Text, nullable=False))
