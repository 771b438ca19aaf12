"""What the seed loader last applied per row, and the rows it kept instead of applying the data file."""

import datetime as dt

from sqlalchemy import Column, DateTime, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class SeedBaseline(SQLModel, table=True):
    """The fingerprint of the values the seed last applied to one row.

    A live row whose fingerprint still equals it is untouched since; any other live row was
    edited by someone else, and the seed keeps it.
    """

    __tablename__ = "seed_baseline"

    entity: str = Field(sa_column=Column(Text, primary_key=True))  # the table
    entity_id: str = Field(sa_column=Column(Text, primary_key=True))  # its key; `a/b` for a two-column key
    fingerprint: str = Field(sa_column=Column(Text, nullable=False))
    data_file: str = Field(sa_column=Column(Text, nullable=False))
    data_version: str = Field(sa_column=Column(Text, nullable=False))  # sha256 of the data file's bytes
    applied_at: dt.datetime = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )


class SeedConflict(SQLModel, table=True):
    """A row where the data file and a live edit disagree; open until the two agree again."""

    __tablename__ = "seed_conflict"

    entity: str = Field(sa_column=Column(Text, primary_key=True))
    entity_id: str = Field(sa_column=Column(Text, primary_key=True))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    detail: str = Field(sa_column=Column(Text, nullable=False))
    data_file: str = Field(sa_column=Column(Text, nullable=False))
    data_version: str = Field(sa_column=Column(Text, nullable=False))
    live: dict | None = Field(default=None, sa_column=Column(JSONB, nullable=True))  # the row as it stands
    proposed: dict | None = Field(default=None, sa_column=Column(JSONB, nullable=True))  # the file's values
    detected_at: dt.datetime = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
