import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, Numeric, Text, UniqueConstraint, func
from sqlmodel import Field, SQLModel


class Status(StrEnum):
    submitted = "submitted"
    approved = "approved"
    returned = "returned"


class Measurement(SQLModel, table=True):
    """One revision of an indicator's actual for a year (and institution). Rows are only ever added;
    a correction is a new revision, review sets the status of the revision it reviews."""

    __tablename__ = "measurement"
    __table_args__ = (
        UniqueConstraint("indicator_id", "year", "institution_id", "revision", postgresql_nulls_not_distinct=True),
        Index("measurement_indicator", "indicator_id", "year", "institution_id", "revision"),
    )

    id: uuid.UUID = Field(primary_key=True, default_factory=uuid.uuid4)
    # RESTRICT: an indicator with actuals cannot be deleted out from under them.
    indicator_id: uuid.UUID = Field(sa_column=Column(ForeignKey("indicator.id", ondelete="RESTRICT"), nullable=False))
    year: int
    institution_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("institution.id"), nullable=True)
    )
    revision: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    number: Decimal | None = Field(default=None, sa_column=Column(Numeric, nullable=True))
    second: Decimal | None = Field(default=None, sa_column=Column(Numeric, nullable=True))
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: Status = Field(sa_column=Column(Text, nullable=False))
    posted_by: str = Field(sa_column=Column(Text, nullable=False))  # role:institution of the token or person
    posted_by_token: uuid.UUID | None = None  # None when a person posted: then their `sub` and name
    posted_by_subject: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    posted_by_name: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    posted_at: dt.datetime = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    reviewed_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewed_by_subject: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewed_by_name: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewed_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    review_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Assessment(SQLModel, table=True):
    """An admin's progress status for a qualitative target (`Palielinās`), which no number decides."""

    __tablename__ = "progress_assessment"
    __table_args__ = (UniqueConstraint("indicator_id", "year", "institution_id", postgresql_nulls_not_distinct=True),)

    id: uuid.UUID = Field(primary_key=True, default_factory=uuid.uuid4)
    indicator_id: uuid.UUID = Field(sa_column=Column(ForeignKey("indicator.id", ondelete="CASCADE"), nullable=False))
    year: int
    institution_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("institution.id"), nullable=True)
    )
    status: str = Field(sa_column=Column(Text, nullable=False))
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    set_by: str = Field(sa_column=Column(Text, nullable=False))
    set_at: dt.datetime = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )


class ReportingPeriod(SQLModel, table=True):
    """A strategy's reporting year: when agencies report it, and whether it is closed. A year without a row
    follows the default rule (periods.py); the row is written when an admin sets the dates or closes it."""

    __tablename__ = "reporting_period"
    __table_args__ = (
        UniqueConstraint("strategy_id", "year"),
        CheckConstraint("opens_on <= due_on", name="reporting_period_opens_before_due"),
    )

    id: uuid.UUID = Field(primary_key=True)
    strategy_id: uuid.UUID = Field(sa_column=Column(ForeignKey("strategy.id", ondelete="CASCADE"), nullable=False))
    year: int
    opens_on: dt.date
    due_on: dt.date
    closed_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    closed_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ReportingException(SQLModel, table=True):
    """One institution may still write a closed year, until a date (inclusive)."""

    __tablename__ = "reporting_exception"
    __table_args__ = (UniqueConstraint("period_id", "institution_id"),)

    id: uuid.UUID = Field(primary_key=True)
    period_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("reporting_period.id", ondelete="CASCADE"), nullable=False)
    )
    institution_id: uuid.UUID = Field(sa_column=Column(ForeignKey("institution.id"), nullable=False))
    until: dt.date
    reason: str = Field(sa_column=Column(Text, nullable=False))
    granted_by: str = Field(sa_column=Column(Text, nullable=False))
