"""REST bodies of the registry."""

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, computed_field

from service.core import partial_date
from service.core.i18n import LocalizedName, LocalizedText
from service.core.partial_date import PartialDate
from service.registry.models import Relation
from service.registry.provenance import Basis


class FactProvenance(BaseModel):
    """Where one fact comes from."""

    basis: Basis
    source_sentence: str | None = None
    audit_entry_id: int | None = None


class NameProvenance(BaseModel):
    lv: FactProvenance | None
    en: FactProvenance | None
    lt: FactProvenance | None
    original: FactProvenance | None


class InstitutionProvenance(BaseModel):
    name: NameProvenance
    kind: FactProvenance | None
    parent: FactProvenance | None


class OrganizationProvenance(InstitutionProvenance):
    established: FactProvenance | None


class MembershipProvenance(BaseModel):
    relation: FactProvenance | None
    since: FactProvenance | None
    until: FactProvenance | None


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
    code: str
    name: LocalizedText
    aliases: list[str]
    kind: str
    country: str
    parent: InstitutionRef | None
    notes: list[Note]
    sources: list[str]
    updated_at: dt.datetime
    provenance: InstitutionProvenance


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
    kind: str
    organization: OrganizationRef | None = None


class MembershipOut(BaseModel):
    id: uuid.UUID
    member: InstitutionRef
    relation: Relation
    since: str | None
    since_precision: partial_date.Precision | None
    until: str | None
    until_precision: partial_date.Precision | None
    coordinator: InstitutionRef | None
    financial_obligation: bool | None
    events: list[MembershipEvent]
    note: LocalizedText | None
    sources: list[str]
    updated_at: dt.datetime
    provenance: MembershipProvenance


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
    provenance: OrganizationProvenance


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
    country: str
    city: LocalizedText
    city_country: str
    source_text: str
    organizations: list[OrganizationRef]
    coordinator: InstitutionRef | None
    sources: list[str]
    updated_at: dt.datetime


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InstitutionIn(_Input):
    code: str = Field(min_length=1, max_length=64)
    name: LocalizedName
    kind: str = Field(min_length=1, max_length=64)
    country: str = Field(max_length=2, pattern="^[A-Z]{2}$")
    parent: str | None = Field(None, max_length=64)
    aliases: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=20)


class InstitutionPatch(_Input):
    name: LocalizedName | None = None
    kind: str | None = Field(None, min_length=1, max_length=64)
    country: str | None = Field(None, max_length=2, pattern="^[A-Z]{2}$")
    parent: str | None = Field(None, max_length=64)
    aliases: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=20)


class OrganizationIn(_Input):
    acronym: str | None = Field(None, min_length=1, max_length=64)
    name: LocalizedName
    kind: str = Field(min_length=1, max_length=64)
    parent: str | None = Field(None, max_length=200)
    aliases: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=20)
    established: PartialDate | None = None
    sources: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=20)


class OrganizationPatch(_Input):
    acronym: str | None = Field(None, min_length=1, max_length=64)
    name: LocalizedName | None = None
    kind: str | None = Field(None, min_length=1, max_length=64)
    parent: str | None = Field(None, max_length=200)
    aliases: list[Annotated[str, Field(max_length=200)]] | None = Field(None, max_length=20)
    established: PartialDate | None = None
    sources: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=20)


class EventIn(_Input):
    date: PartialDate
    kind: str = Field(min_length=1, max_length=64)
    organization: str | None = Field(None, max_length=200)


class MembershipIn(_Input):
    member: str = Field(max_length=64)
    relation: Relation
    since: PartialDate | None = None
    until: PartialDate | None = None
    coordinator: str | None = Field(None, max_length=64)
    financial_obligation: bool | None = None
    events: list[EventIn] = Field(default_factory=list, max_length=50)
    note: LocalizedText | None = None
    sources: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=20)


class MembershipPatch(_Input):
    since: PartialDate | None = None
    until: PartialDate | None = None
    coordinator: str | None = Field(None, max_length=64)
    financial_obligation: bool | None = None
    events: list[EventIn] | None = Field(None, max_length=50)
    note: LocalizedText | None = None
    sources: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=20)
