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

    basis: Basis = Field(
        description="as_written: the source document's words; normalized: the source's name in another grammatical "
        "form; translation: supplied here, the source gives none; stated / inferred: a date the source states, or "
        "reads from a sentence that does not state it; editorial: a classification made here; edited: set by an "
        "admin (see audit_entry_id)."
    )
    source_sentence: str | None = Field(None, description="For an inferred date: the source's sentence.")
    audit_entry_id: int | None = Field(None, description="For an edited fact: the audit entry of the edit.")


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
    code: str = Field(description="Abbreviation as the sources write it, e.g. `VP`, `IeM IC`.")
    name: LocalizedText
    aliases: list[str]
    kind: str
    country: str = Field(description="ISO 3166-1 alpha-2")
    parent: InstitutionRef | None
    notes: list[Note]
    sources: list[str] = Field(description="Source documents that state this entity (file prefixes in shared/seeds).")
    updated_at: dt.datetime
    provenance: InstitutionProvenance = Field(description="Per fact: from a source document, or supplied here.")


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
    provenance: MembershipProvenance = Field(description="Per fact: from a source document, or supplied here.")


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
    provenance: OrganizationProvenance = Field(description="Per fact: from a source document, or supplied here.")


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


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InstitutionIn(_Input):
    code: str = Field(min_length=1, max_length=64)
    name: LocalizedName
    kind: str = Field(min_length=1, max_length=64)
    country: str = Field(max_length=2, pattern="^[A-Z]{2}$")
    parent: str | None = Field(None, max_length=64, description="Code of the parent institution.")
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
    parent: str | None = Field(None, max_length=200, description="Parent organisation id or acronym.")
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
    organization: str | None = Field(None, max_length=200, description="The other organisation's id or acronym.")


class MembershipIn(_Input):
    member: str = Field(max_length=64, description="Code of the member institution.")
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
