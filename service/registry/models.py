import uuid
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from service.core.models import Timestamped

PARTIAL_DATE_CHECK = r"~ '^\d{4}(-\d{2}(-\d{2})?)?$'"


def _partial_date_check(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} {PARTIAL_DATE_CHECK}", name=f"{column}_is_partial_date")


class Relation(StrEnum):
    """How a national institution stands to an organisation."""

    member = "member"  # a formal membership, as listed in the ministry's registry
    partner = "partner"  # regular cooperation named by the source, without a stated membership
    participant = "participant"  # takes part in a committee, working group or forum


class Institution(Timestamped, table=True):
    __tablename__ = "institution"
    __table_args__ = (CheckConstraint("country ~ '^[A-Z]{2}$'", name="institution_country_is_iso"),)

    id: uuid.UUID = Field(primary_key=True)
    code: str = Field(sa_column=Column(Text, unique=True, nullable=False))
    name: dict = Field(sa_column=Column(JSONB, nullable=False))
    aliases: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    country: str = Field(sa_column=Column(Text, nullable=False))
    parent_id: uuid.UUID | None = Field(default=None, sa_column=Column(ForeignKey("institution.id"), nullable=True))
    notes: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    sources: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    # Per fact: quoted from a source document or supplied here (service/registry/provenance.py).
    provenance: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))


class Organization(Timestamped, table=True):
    __tablename__ = "organization"
    __table_args__ = (Index("organization_sort", "sort_key", "id"), _partial_date_check("established"))

    id: uuid.UUID = Field(primary_key=True)
    # Not every body has an acronym in the sources; none is invented.
    acronym: str | None = Field(default=None, sa_column=Column(Text, unique=True, nullable=True))
    name: dict = Field(sa_column=Column(JSONB, nullable=False))
    aliases: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    parent_id: uuid.UUID | None = Field(default=None, sa_column=Column(ForeignKey("organization.id"), nullable=True))
    established: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Case- and diacritic-folded acronym and names, kept by the service on every write.
    search_text: str = Field(sa_column=Column(Text, nullable=False))
    # The keyset order of listings: the folded acronym.
    sort_key: str = Field(sa_column=Column(Text, nullable=False))
    sources: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    # Per fact: quoted from a source document or supplied here (service/registry/provenance.py).
    provenance: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))


class Membership(Timestamped, table=True):
    __tablename__ = "membership"
    __table_args__ = (
        _partial_date_check("since"),
        _partial_date_check("until"),
        Index("membership_organization", "organization_id"),
        Index("membership_coordinator", "coordinator_id"),
    )
    # A membership's changes are also its organisation's, in the changes feed.
    journal_parent: ClassVar[tuple[str, str]] = ("organization", "organization_id")

    id: uuid.UUID = Field(primary_key=True)
    organization_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: uuid.UUID = Field(sa_column=Column(ForeignKey("institution.id"), nullable=False))
    relation: Relation = Field(sa_column=Column(Text, nullable=False))
    since: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    until: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    coordinator_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("institution.id"), nullable=True)
    )
    # None where the source does not say.
    financial_obligation: bool | None = Field(default=None)
    events: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    note: dict | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    sources: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    # Per fact: quoted from a source document or supplied here (service/registry/provenance.py).
    provenance: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))


class Engagement(Timestamped, table=True):
    __tablename__ = "engagement"
    __table_args__ = (_partial_date_check("start_date"), _partial_date_check("end_date"))

    id: uuid.UUID = Field(primary_key=True)
    start_date: str = Field(sa_column=Column(Text, nullable=False))
    end_date: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    title: dict = Field(sa_column=Column(JSONB, nullable=False))
    place: dict = Field(sa_column=Column(JSONB, nullable=False))
    country: str = Field(sa_column=Column(Text, nullable=False))
    participants: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    organization_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("organization.id"), nullable=True)
    )
    institution_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("institution.id"), nullable=True)
    )
    sources: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))


class Representation(Timestamped, table=True):
    __tablename__ = "representation"

    id: uuid.UUID = Field(primary_key=True)
    country: str = Field(sa_column=Column(Text, nullable=False))  # the represented state
    city: dict = Field(sa_column=Column(JSONB, nullable=False))
    city_country: str = Field(sa_column=Column(Text, nullable=False))
    source_text: str = Field(sa_column=Column(Text, nullable=False))
    coordinator_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("institution.id"), nullable=True)
    )
    position: int = Field(default=0)
    sources: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))


class RepresentationOrganization(SQLModel, table=True):
    """The organisations one permanent representation is accredited to, in the source's order."""

    __tablename__ = "representation_organization"

    representation_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("representation.id", ondelete="CASCADE"), primary_key=True)
    )
    organization_id: uuid.UUID = Field(sa_column=Column(ForeignKey("organization.id"), primary_key=True))
    position: int = Field(default=0)
