"""The shape of the seed data files; a typo in a file fails loudly instead of loading wrong."""

from pydantic import BaseModel, ConfigDict, Field

from service.core.i18n import LocalizedText
from service.core.partial_date import PartialDate
from service.registry.models import Relation


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


SourceList = list[str]


class NoteSeed(_Strict):
    text: LocalizedText
    as_of: PartialDate | None = None
    source: str | None = None


class InstitutionSeed(_Strict):
    code: str
    name: LocalizedText
    kind: str
    country: str = Field(pattern="^[A-Z]{2}$")
    parent: str | None = None
    aliases: list[str] = []
    notes: list[NoteSeed] = []
    sources: SourceList


class InstitutionsFile(_Strict):
    institutions: list[InstitutionSeed]


class OrganizationSeed(_Strict):
    acronym: str | None = None
    name: LocalizedText
    aliases: list[str] = []
    kind: str
    parent: str | None = None
    established: PartialDate | None = None
    sources: SourceList

    @property
    def key(self) -> str:
        """How the data files refer to it: its acronym, or else its source-language name."""
        key = self.acronym or self.name.lv or self.name.lt
        assert key, "an organisation needs an acronym or a source-language name"
        return key


class EventSeed(_Strict):
    date: PartialDate
    kind: str
    organization: str | None = None


class MembershipSeed(_Strict):
    organization: str
    member: str
    relation: Relation
    since: PartialDate | None = None
    until: PartialDate | None = None
    coordinator: str | None = None
    financial_obligation: bool | None = None
    events: list[EventSeed] = []
    note: LocalizedText | None = None
    sources: SourceList


class EngagementSeed(_Strict):
    start: PartialDate
    end: PartialDate | None = None
    title: LocalizedText
    place: LocalizedText
    country: str = Field(pattern="^[A-Z]{2}$")
    institution: str | None = None
    organization: str | None = None
    participants: list[LocalizedText] = []
    sources: SourceList


class RepresentationSeed(_Strict):
    country: str = Field(pattern="^[A-Z]{2}$")
    coordinator: str | None = None
    source_text: str
    city: LocalizedText
    city_country: str = Field(pattern="^[A-Z]{2}$")
    organizations: list[str]
    sources: SourceList


class RegistryFile(_Strict):
    organizations: list[OrganizationSeed]
    memberships: list[MembershipSeed]
    engagements: list[EngagementSeed]
    representations: list[RepresentationSeed]
