"""REST bodies of the registry."""

import datetime as dt
import uuid

from pydantic import BaseModel, Field, computed_field

from service.core import partial_date
from service.core.i18n import LocalizedText
from service.registry.models import Relation


class InstitutionRef(BaseModel):
    id: uuid.UUID
    code: str
    country: str


class Note(BaseModel):
    text: LocalizedText
    as_of: str | None = Field(None, description="The date the source states the fact for.")
    source: str | None = None


class InstitutionOut(BaseModel):
    id: uuid.UUID
    code: str = Field(description="Abbreviation as the sources write it, e.g. `VP`, `IeM IC`.")
    name: LocalizedText
    aliases: list[str]
    kind: str
    country: str = Field(description="ISO 3166-1 alpha-2")
    parent: InstitutionRef | None
    notes: list[Note]
    sources: list[str] = Field(description="Source documents that state this entity (file prefixes in shared/seeds).")
    updated_at: dt.datetime


class OrganizationRef(BaseModel):
    id: uuid.UUID
    acronym: str | None
    name: LocalizedText


class DatedText(BaseModel):
    """A partial date with its precision spelled out."""

    date: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def precision(self) -> partial_date.Precision:
        return partial_date.parse(self.date)


class MembershipEvent(DatedText):
    kind: str = Field(description="joined | renewed | joined_parent | transformed")
    organization: OrganizationRef | None = Field(None, description="The other organisation the event concerns.")


class MembershipOut(BaseModel):
    id: uuid.UUID
    member: InstitutionRef
    relation: Relation
    since: str | None = Field(description="ISO 8601 in the source's precision: `1999`, `2010-05`, `2018-11-06`.")
    since_precision: partial_date.Precision | None
    until: str | None
    until_precision: partial_date.Precision | None
    coordinator: InstitutionRef | None
    financial_obligation: bool | None = Field(description="null where the source does not say.")
    events: list[MembershipEvent]
    note: LocalizedText | None = Field(description="The source's own words for this membership.")
    sources: list[str]
    updated_at: dt.datetime


class OrganizationOut(BaseModel):
    id: uuid.UUID
    acronym: str | None
    name: LocalizedText
    aliases: list[str]
    kind: str
    parent: OrganizationRef | None
    established: str | None
    sources: list[str]
    updated_at: dt.datetime


class OrganizationDetail(OrganizationOut):
    memberships: list[MembershipOut]


class EngagementOut(BaseModel):
    id: uuid.UUID
    start_date: str
    end_date: str | None
    title: LocalizedText
    place: LocalizedText
    country: str
    participants: list[LocalizedText]
    institution: InstitutionRef | None
    organization: OrganizationRef | None
    sources: list[str]
    updated_at: dt.datetime


class RepresentationOut(BaseModel):
    id: uuid.UUID
    country: str = Field(description="The state represented (ISO 3166-1 alpha-2).")
    city: LocalizedText
    city_country: str
    source_text: str = Field(description="The representation as the source names it.")
    organizations: list[OrganizationRef]
    coordinator: InstitutionRef | None
    sources: list[str]
    updated_at: dt.datetime
