"""The shape of the seed data files; a typo in a file fails loudly instead of loading wrong."""

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.core.i18n import LocalizedText
from service.core.partial_date import PartialDate
from service.registry.models import Relation
from service.strategy.models import AreaKind, Direction


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


SourceList = list[str]

# --- provenance: every row says, per fact, whether the source document gives it (service/registry/provenance.py)

NameBasis = Literal["as_written", "normalized", "translation"]
Editorial = Literal["editorial"]


class InferredDate(_Strict):
    basis: Literal["inferred"]
    source_sentence: str = Field(min_length=1, description="The source's sentence the date is read from.")


DateBasis = Literal["stated"] | InferredDate


def _stored(basis: str | BaseModel) -> dict:
    return basis.model_dump() if isinstance(basis, BaseModel) else {"basis": basis}


class EntityProvenanceSeed(_Strict):
    name: dict[Literal["lv", "en", "lt", "original"], NameBasis]
    kind: Editorial
    parent: Editorial | None = None
    established: DateBasis | None = None

    def stored(self) -> dict:
        facts: dict = {"name": {language: _stored(basis) for language, basis in self.name.items()}}
        for key in ("kind", "parent", "established"):
            if (basis := getattr(self, key)) is not None:
                facts[key] = _stored(basis)
        return facts


class MembershipProvenanceSeed(_Strict):
    relation: Editorial
    since: DateBasis | None = None
    until: DateBasis | None = None

    def stored(self) -> dict:
        return {key: _stored(basis) for key in ("relation", "since", "until") if (basis := getattr(self, key))}


def _covers(what: str, provenance: BaseModel, facts: dict[str, object]) -> None:
    """A fact has a provenance entry exactly when the row gives the fact."""
    for key, value in facts.items():
        if (value is not None) != (getattr(provenance, key) is not None):
            raise ValueError(f"{what}: provenance.{key} must be given exactly when {key} is")


def _covers_name(what: str, provenance: EntityProvenanceSeed, name: LocalizedText) -> None:
    if set(provenance.name) != set(name.model_dump(exclude_none=True)):
        raise ValueError(f"{what}: provenance.name must name exactly the languages of name")


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
    provenance: EntityProvenanceSeed

    @model_validator(mode="after")
    def _provenance_covers_the_facts(self) -> Self:
        _covers_name(self.code, self.provenance, self.name)
        _covers(self.code, self.provenance, {"parent": self.parent, "established": None})
        return self


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
    provenance: EntityProvenanceSeed

    @model_validator(mode="after")
    def _provenance_covers_the_facts(self) -> Self:
        _covers_name(self.key, self.provenance, self.name)
        _covers(self.key, self.provenance, {"parent": self.parent, "established": self.established})
        return self

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
    provenance: MembershipProvenanceSeed

    @model_validator(mode="after")
    def _provenance_covers_the_facts(self) -> Self:
        what = f"membership of {self.member} in {self.organization}"
        _covers(what, self.provenance, {"since": self.since, "until": self.until})
        return self


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


class DatedStatementSeed(_Strict):
    date: PartialDate
    kind: str
    text: LocalizedText | None = None


class StrategySeed(_Strict):
    key: str
    title: LocalizedText
    period_start: int
    period_end: int
    baseline_year: int
    parent: str | None = None
    owner: str | None = None
    dates: list[DatedStatementSeed] = []
    footnotes: list[int] = []
    sources: SourceList


class FootnoteSeed(_Strict):
    number: int
    text: str


class SwotSeed(_Strict):
    kind: str = Field(pattern="^(strength|weakness|opportunity|threat)$")
    text: LocalizedText


YearValues = dict[str, str]


class IndicatorSeed(_Strict):
    number: int
    name: LocalizedText
    unit: str
    direction: Direction
    footnotes: list[int] = []
    values: YearValues = {}
    institution_values: dict[str, YearValues] = {}
    value_footnotes: dict[str, list[int]] = {}


class GoalSeed(_Strict):
    number: int
    title: LocalizedText
    institutions_text: str | None = None
    institutions: list[str] = []
    indicators: list[IndicatorSeed] = []


class TaskSeed(_Strict):
    number: str
    parent: str | None = None
    text: str
    institutions: list[str] = []
    footnotes: list[int] = []


class ActionDirectionSeed(_Strict):
    number: int
    title: LocalizedText
    tasks: list[TaskSeed]


class AreaSeed(_Strict):
    code: str
    kind: AreaKind
    title: LocalizedText
    goals: list[GoalSeed]
    action_directions: list[ActionDirectionSeed] = []


class StrategyFile(_Strict):
    strategy: StrategySeed
    footnotes: list[FootnoteSeed] = []
    swot: list[SwotSeed] = []
    areas: list[AreaSeed]


class SourceSeed(_Strict):
    """A source document, so that a reader knows which one a `sources` code means. `publisher` and
    `date` must be written out, null where neither the document nor shared/seeds/README.md states
    them; `note` then says so."""

    code: str = Field(pattern=r"^\d{3}$", description="The prefix of its file name, as `sources` lists give it.")
    file: str = Field(pattern=r"^\d{3}_[0-9a-f]+\.txt$")
    title: LocalizedText
    publisher: str | None = Field(description="Code of the institution that publishes it.")
    date: PartialDate | None
    date_kind: Literal["agreed", "last_updated"] | None = None
    date_as_written: str | None = Field(None, description="The document's own words for the date.")
    note: str | None = None

    @model_validator(mode="after")
    def _stated_or_explained(self) -> Self:
        if not self.file.startswith(f"{self.code}_"):
            raise ValueError(f"source {self.code}: file {self.file!r} does not start with its code")
        if not any(self.title.model_dump().values()):
            raise ValueError(f"source {self.code}: a title is needed")
        dated = (self.date is not None, self.date_kind is not None, self.date_as_written is not None)
        if len(set(dated)) != 1:
            raise ValueError(f"source {self.code}: date, date_kind and date_as_written go together")
        if (self.publisher is None or self.date is None) and not self.note:
            raise ValueError(f"source {self.code}: a null publisher or date needs a note saying why")
        return self


class SourcesFile(_Strict):
    sources: list[SourceSeed]

    @model_validator(mode="after")
    def _unique_codes(self) -> Self:
        codes = [source.code for source in self.sources]
        if len(codes) != len(set(codes)):
            raise ValueError("a source code is listed twice")
        return self
