"""The registry in GraphQL: types filled from `reads.py`'s objects, the Query and Mutation fields."""

import datetime as dt
import uuid
from typing import Annotated, Any, ClassVar

import strawberry
from strawberry import relay
from strawberry.types import Info

from service.core import partial_date
from service.core.auth import Principal, require_admin
from service.core.errors import BadRequest
from service.core.graphql import Context
from service.core.graphql_cost import PAGE_OF_FIRST, at_most, first_page
from service.core.graphql_types import (
    ETAG_DESCRIPTION,
    GLOBAL_ID,
    ROW_ID,
    IfMatchArgument,
    LocalizedText,
    LocalizedTextInput,
    PageAfterArgument,
    PageBeforeArgument,
    PageFirstArgument,
    PageInfo,
    PageLastArgument,
    Precision,
    Selection,
    described,
    global_id,
    graphql_enum,
    if_match_of,
    page_info,
    row_id_of,
    validated_input,
)
from service.core.i18n import LANGUAGES
from service.core.pagination import DEFAULT_LIMIT, Window
from service.registry import models, reads, service
from service.registry.provenance import INSTITUTION_FACTS, MEMBERSHIP_FACTS, ORGANIZATION_FACTS, Basis
from service.registry.reads import (
    EngagementData,
    EventData,
    InstitutionAsk,
    InstitutionData,
    MembershipAsk,
    MembershipData,
    OrganizationAsk,
    OrganizationData,
    RegistryRead,
    RepresentationData,
)
from service.registry.schemas import (
    InstitutionIn,
    InstitutionPatch,
    MembershipIn,
    MembershipPatch,
    OrganizationIn,
    OrganizationPatch,
)

SOURCES = "The source documents that state it: a document's number (e.g. `004`) or a reference."

Relation = graphql_enum(
    models.Relation,
    description="How a national institution is tied to an international organisation.",
    values={
        "member": "A formal membership, as listed in the ministry's registry.",
        "partner": "Regular cooperation named by the source, without a stated membership.",
        "participant": "Takes part in a committee, working group or forum.",
    },
)
ProvenanceBasis = graphql_enum(
    Basis,
    name="ProvenanceBasis",
    description="Where one fact comes from.",
    values={
        "as_written": "The source document's own words.",
        "normalized": "The source's name, put by the transcriber in another grammatical form.",
        "translation": "Supplied here: the source gives no such text.",
        "stated": "A date the source states.",
        "inferred": "A date read from a sentence that does not state it as such (see `sourceSentence`).",
        "editorial": "A classification made here, in the service's own vocabulary.",
        "edited": "Set by an admin (see `auditEntryId`).",
    },
)


@strawberry.type(description="Where one fact comes from: a source document's words, or supplied here.")
class FactProvenance:
    basis: ProvenanceBasis = strawberry.field(description="Where the fact comes from.")
    source_sentence: str | None = strawberry.field(description="For an inferred date: the source's sentence.")
    audit_entry_id: int | None = strawberry.field(description="For an edited fact: the audit entry of the edit.")

    @classmethod
    def of(cls, entry: dict | None) -> "FactProvenance | None":
        if entry is None:
            return None
        return cls(
            basis=Basis(entry["basis"]),
            source_sentence=entry.get("source_sentence"),
            audit_entry_id=entry.get("audit_entry_id"),
        )


def _facts(facts: dict, keys: dict[str, str]) -> dict:
    return {key: FactProvenance.of(facts.get(key)) for key in keys if key != "name"}


@strawberry.type(description="Per language of a name: where its text comes from; null where there is no such text.")
class NameProvenance:
    lv: FactProvenance | None = strawberry.field(description="Of the Latvian name.")
    en: FactProvenance | None = strawberry.field(description="Of the English name.")
    lt: FactProvenance | None = strawberry.field(description="Of the Lithuanian name.")
    original: FactProvenance | None = strawberry.field(description="Of the name in its own language.")

    @classmethod
    def of(cls, names: dict | None) -> "NameProvenance":
        names = names or {}
        return cls(**{language: FactProvenance.of(names.get(language)) for language in LANGUAGES})


@strawberry.type(description="Where each fact of an institution comes from.")
class InstitutionProvenance:
    name: NameProvenance = strawberry.field(description="Of its name, per language.")
    kind: FactProvenance | None = strawberry.field(description="Of its kind.")
    parent: FactProvenance | None = strawberry.field(description="Of its parent; null where it has none.")

    @classmethod
    def of(cls, facts: dict) -> "InstitutionProvenance":
        return cls(name=NameProvenance.of(facts.get("name")), **_facts(facts, INSTITUTION_FACTS))


@strawberry.type(description="Where each fact of an organisation comes from.")
class OrganizationProvenance(InstitutionProvenance):
    established: FactProvenance | None = strawberry.field(description="Of its establishment date.")

    @classmethod
    def of(cls, facts: dict) -> "OrganizationProvenance":
        return cls(name=NameProvenance.of(facts.get("name")), **_facts(facts, ORGANIZATION_FACTS))


@strawberry.type(description="Where each fact of a membership comes from.")
class MembershipProvenance:
    relation: FactProvenance | None = strawberry.field(description="Of its relation.")
    since: FactProvenance | None = strawberry.field(description="Of its start date.")
    until: FactProvenance | None = strawberry.field(description="Of its end date; null while it lasts.")

    @classmethod
    def of(cls, facts: dict) -> "MembershipProvenance":
        return cls(**_facts(facts, MEMBERSHIP_FACTS))


def _precision(value: str | None) -> partial_date.Precision | None:
    return partial_date.parse(value) if value else None


async def load_institution(info: Info[Context, None], institution_id: uuid.UUID | None) -> "Institution | None":
    """For other domains' types, whose institutions are not part of a registry read."""
    if institution_id is None:
        return None
    row = await info.context.loader(reads.institution_rows).load(institution_id)
    return Institution.of(row) if row else None


async def load_institutions(info: Info[Context, None], institution_ids: list[uuid.UUID]) -> "list[Institution]":
    """Many institutions in one batch: awaiting them one by one would cost a statement each."""
    rows = await info.context.loader(reads.institution_rows).load_many(institution_ids)
    return [Institution.of(row) for row in rows if row is not None]


# Below a root field every field the read fetched is a plain attribute, filled from `reads.py`'s objects here
# and only here (`of`). What a field needs a query of its own for (`etag`, an institution's `parent`, which
# other domains' institutions do not carry) stays a resolver, batched by a DataLoader.


@strawberry.type(description="A national body: a ministry, one of its agencies, or a foreign counterpart.")
class Institution(relay.Node):
    _id_attr: ClassVar[str] = "row_id"
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    code: str = strawberry.field(description="Its abbreviation as the sources write it, e.g. `VP`, `IeM IC`.")
    name: LocalizedText = strawberry.field(description="Its name.")
    aliases: list[str] = strawberry.field(description="Other codes or names it is known by.")
    kind: str = strawberry.field(description="What kind of body it is, e.g. `ministry`, `agency`.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2.")
    sources: list[str] = strawberry.field(description=SOURCES)
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")
    parent_id: strawberry.Private[uuid.UUID | None]
    provenance: InstitutionProvenance = strawberry.field(
        description="Per fact: from a source document, or supplied here."
    )

    @classmethod
    def of(cls, row: Any) -> "Institution":
        """From anything with an institution's columns: an ORM row, a Core row, a read's InstitutionData."""
        return cls(
            id=global_id("Institution", row.id),
            row_id=strawberry.ID(str(row.id)),
            code=row.code,
            name=LocalizedText.of(row.name),
            aliases=row.aliases,
            kind=row.kind,
            country=row.country,
            sources=row.sources,
            updated_at=row.updated_at,
            parent_id=row.parent_id,
            provenance=InstitutionProvenance.of(row.provenance),
        )

    @strawberry.field(description="The institution it belongs to, e.g. an agency's ministry.")
    async def parent(self, info: Info[Context, None]) -> "Institution | None":
        return await load_institution(info, self.parent_id)

    @strawberry.field(description=ETAG_DESCRIPTION)
    async def etag(self, info: Info[Context, None]) -> str:
        return await info.context.loader(service.institution_etags).load(uuid.UUID(self.row_id))

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: list[uuid.UUID]) -> "list[Institution | None]":
        rows = await info.context.loader(reads.institution_rows).load_many(node_ids)
        return [cls.of(row) if row is not None else None for row in rows]


def _institution(data: InstitutionData | None) -> Institution | None:
    return Institution.of(data) if data is not None else None


@strawberry.type(description="A dated event of a membership, e.g. joining or leaving.")
class MembershipEvent:
    date: str = strawberry.field(description="ISO 8601 partial date.")
    precision: Precision = strawberry.field(description="How precisely the date is known.")
    kind: str = strawberry.field(description="What happened: `joined`, `renewed`, `joined_parent` or `transformed`.")
    organization: "Organization | None" = strawberry.field(
        description="The other organisation the event concerns, e.g. the parent joined first."
    )

    @classmethod
    def of(cls, data: EventData, ask: OrganizationAsk | None) -> "MembershipEvent":
        return cls(
            date=data.date,
            precision=partial_date.parse(data.date),
            kind=data.kind,
            organization=Organization.of(data.organization, ask) if data.organization and ask else None,
        )


@strawberry.type(description="How a national institution belongs to, partners with or takes part in an organisation.")
class Membership(relay.Node):
    _id_attr: ClassVar[str] = "row_id"
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    relation: Relation = strawberry.field(description="How the institution is tied to the organisation.")
    since: str | None = strawberry.field(
        description="ISO 8601 in the source's precision: `1999`, `2010-05`, `2018-11-06`."
    )
    since_precision: Precision | None = strawberry.field(description="How precisely `since` is known.")
    until: str | None = strawberry.field(description="ISO 8601 partial date it ended; null while it lasts.")
    until_precision: Precision | None = strawberry.field(description="How precisely `until` is known.")
    financial_obligation: bool | None = strawberry.field(
        description="Whether membership obliges a contribution; null where the source does not say."
    )
    events: list[MembershipEvent] = strawberry.field(description="Its dated events, oldest first.", metadata=at_most(5))
    note: LocalizedText | None = strawberry.field(description="The source's own words for this membership.")
    sources: list[str] = strawberry.field(description=SOURCES)
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")
    member: Institution = strawberry.field(description="The national institution.")
    coordinator: Institution | None = strawberry.field(description="The institution coordinating it.")
    provenance: MembershipProvenance = strawberry.field(
        description="Per fact: from a source document, or supplied here."
    )

    @classmethod
    def of(cls, data: MembershipData, ask: MembershipAsk) -> "Membership":
        return cls(
            id=global_id("Membership", data.id),
            row_id=strawberry.ID(str(data.id)),
            relation=data.relation,
            since=data.since,
            since_precision=_precision(data.since),
            until=data.until,
            until_precision=_precision(data.until),
            financial_obligation=data.financial_obligation,
            events=[MembershipEvent.of(event, ask.event_organizations) for event in data.events],
            note=LocalizedText.of(data.note),
            sources=data.sources,
            updated_at=data.updated_at,
            member=_institution(data.member),  # type: ignore[arg-type]  # None only where not asked for
            coordinator=_institution(data.coordinator),
            provenance=MembershipProvenance.of(data.provenance),
        )

    @strawberry.field(description=ETAG_DESCRIPTION)
    async def etag(self, info: Info[Context, None]) -> str:
        return await info.context.loader(service.membership_etags).load(uuid.UUID(self.row_id))

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: list[uuid.UUID]) -> "list[Membership | None]":
        ask = membership_ask(Selection.of(info))
        found = await info.context.run(lambda session: RegistryRead(session).memberships(node_ids, ask))
        by_id = {item.id: cls.of(item, ask) for item in found}
        return [by_id.get(node_id) for node_id in node_ids]


@strawberry.type(description="An international organisation, body, committee or forum.")
class Organization(relay.Node):
    _id_attr: ClassVar[str] = "row_id"
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    acronym: str | None = strawberry.field(description="Its acronym, e.g. `FRONTEX`.")
    name: LocalizedText = strawberry.field(description="Its name in several languages.")
    aliases: list[str] = strawberry.field(description="Other names or acronyms it is known by.")
    kind: str = strawberry.field(description="What kind of body it is, e.g. `intergovernmental`, `eu_agency`.")
    established: str | None = strawberry.field(description="ISO 8601 partial date it was established.")
    sources: list[str] = strawberry.field(description=SOURCES)
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")
    parent: "Organization | None" = strawberry.field(description="The organisation it belongs to, e.g. a committee's.")
    memberships: list[Membership] = strawberry.field(
        description="The national institutions' memberships in it.", metadata=at_most(6)
    )
    provenance: OrganizationProvenance = strawberry.field(
        description="Per fact: from a source document, or supplied here."
    )

    @classmethod
    def of(cls, data: OrganizationData, ask: OrganizationAsk) -> "Organization":
        """The organisation and what `ask` fetched of it (following the ask, not the rows: a parent that is
        its child's parent again would otherwise never end)."""
        membership_ask = ask.memberships
        return cls(
            id=global_id("Organization", data.id),
            row_id=strawberry.ID(str(data.id)),
            acronym=data.acronym,
            name=LocalizedText.of(data.name),  # type: ignore[arg-type]  # a name is never null
            aliases=data.aliases,
            kind=data.kind,
            established=data.established,
            sources=data.sources,
            updated_at=data.updated_at,
            parent=Organization.of(data.parent, ask.parent) if data.parent and ask.parent else None,
            memberships=[Membership.of(m, membership_ask) for m in data.memberships] if membership_ask else [],
            provenance=OrganizationProvenance.of(data.provenance),
        )

    @strawberry.field(description=ETAG_DESCRIPTION)
    async def etag(self, info: Info[Context, None]) -> str:
        return await info.context.loader(service.organization_etags).load(uuid.UUID(self.row_id))

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: list[uuid.UUID]
    ) -> "list[Organization | None]":
        ask = organization_ask(Selection.of(info)) or OrganizationAsk()
        found = await info.context.run(lambda session: RegistryRead(session).organizations(node_ids, ask))
        by_id = {item.id: cls.of(item, ask) for item in found}
        return [by_id.get(node_id) for node_id in node_ids]


def institution_ask(selection: Selection | None) -> InstitutionAsk | None:
    # An institution's `parent` is its own resolver (other domains' institutions are not read here).
    return InstitutionAsk() if selection is not None else None


def organization_ask(selection: Selection | None) -> OrganizationAsk | None:
    """What a GraphQL selection of an Organization asks the read for."""
    if selection is None:
        return None
    memberships = selection.get("memberships")
    return OrganizationAsk(
        parent=organization_ask(selection.get("parent")),
        memberships=membership_ask(memberships) if memberships is not None else None,
    )


def membership_ask(selection: Selection | None) -> MembershipAsk:
    if selection is None:
        return MembershipAsk()
    events = selection.get("events")
    return MembershipAsk(
        member=institution_ask(selection.get("member")),
        coordinator=institution_ask(selection.get("coordinator")),
        event_organizations=organization_ask(events.get("organization")) if events is not None else None,
    )


@strawberry.type(description="An organisation on a page, with its cursor.")
class OrganizationEdge:
    cursor: str = strawberry.field(
        description="Pass it as `after` for the organisations after this one, as `before` for those before it."
    )
    node: Organization = strawberry.field(description="The organisation.")


@strawberry.type(description="A page of organisations (a Relay connection).")
class OrganizationConnection:
    edges: list[OrganizationEdge] = strawberry.field(
        description="The organisations on this page.", metadata=PAGE_OF_FIRST
    )
    page_info: PageInfo = strawberry.field(
        description="Where this page stands: cursors, and whether more pages follow."
    )
    total_count: int = strawberry.field(description="How many organisations match the filter, on all pages.")


@strawberry.input(description="Which organisations to list; every criterion given must hold.")
class OrganizationFilter:
    q: str | None = strawberry.field(default=None, description="Acronym or any name; case- and diacritic-insensitive.")
    coordinator: str | None = strawberry.field(default=None, description="Code of the coordinating institution.")
    member_country: str | None = strawberry.field(
        default=None, description="Organisations with a member institution of this country (ISO 3166-1 alpha-2)."
    )
    financial_obligation: bool | None = strawberry.field(
        default=None, description="Organisations with (true) or without (false) a membership obliging a contribution."
    )
    updated_since: dt.datetime | None = strawberry.field(
        default=None, description="Organisations changed after this moment."
    )


@strawberry.type(description="A visit or meeting of an international organisation with a national institution.")
class Engagement(relay.Node):
    _id_attr: ClassVar[str] = "row_id"
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    start_date: str = strawberry.field(description="ISO 8601 partial date it began.")
    end_date: str | None = strawberry.field(description="ISO 8601 partial date it ended; null for one day.")
    title: LocalizedText = strawberry.field(description="What it was.")
    place: LocalizedText = strawberry.field(description="Where it took place.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 of the place.")
    participants: list[LocalizedText] = strawberry.field(
        description="Who took part, as the source names them.", metadata=at_most(5)
    )
    sources: list[str] = strawberry.field(description=SOURCES)
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")
    institution: Institution | None = strawberry.field(description="The national institution that took part.")
    organization: Organization | None = strawberry.field(description="The organisation it was with.")

    @classmethod
    def of(cls, data: EngagementData, ask: OrganizationAsk | None) -> "Engagement":
        return cls(
            id=global_id("Engagement", data.id),
            row_id=strawberry.ID(str(data.id)),
            start_date=data.start_date,
            end_date=data.end_date,
            title=LocalizedText.of(data.title),  # type: ignore[arg-type]
            place=LocalizedText.of(data.place),  # type: ignore[arg-type]
            country=data.country,
            participants=[LocalizedText.of(p) for p in data.participants],  # type: ignore[misc]
            sources=data.sources,
            updated_at=data.updated_at,
            institution=_institution(data.institution),
            organization=Organization.of(data.organization, ask) if data.organization and ask else None,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: list[uuid.UUID]) -> "list[Engagement | None]":
        selection = Selection.of(info)
        ask = organization_ask(selection.get("organization"))
        institution = institution_ask(selection.get("institution"))
        found = await info.context.run(lambda session: RegistryRead(session).engagements(node_ids, institution, ask))
        by_id = {item.id: cls.of(item, ask) for item in found}
        return [by_id.get(node_id) for node_id in node_ids]


@strawberry.type(description="A permanent representation abroad and the organisations it covers.")
class Representation(relay.Node):
    _id_attr: ClassVar[str] = "row_id"
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 of the country it represents.")
    city: LocalizedText = strawberry.field(description="The city it sits in.")
    city_country: str = strawberry.field(description="ISO 3166-1 alpha-2 of that city's country.")
    source_text: str = strawberry.field(description="The representation as the source names it.")
    sources: list[str] = strawberry.field(description=SOURCES)
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")
    organizations: list[Organization] = strawberry.field(
        description="The organisations it covers.", metadata=at_most(5)
    )
    coordinator: Institution | None = strawberry.field(description="The institution coordinating it.")

    @classmethod
    def of(cls, data: RepresentationData, ask: OrganizationAsk | None) -> "Representation":
        return cls(
            id=global_id("Representation", data.id),
            row_id=strawberry.ID(str(data.id)),
            country=data.country,
            city=LocalizedText.of(data.city),  # type: ignore[arg-type]
            city_country=data.city_country,
            source_text=data.source_text,
            sources=data.sources,
            updated_at=data.updated_at,
            organizations=[Organization.of(o, ask) for o in data.organizations] if ask else [],
            coordinator=_institution(data.coordinator),
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: list[uuid.UUID]
    ) -> "list[Representation | None]":
        selection = Selection.of(info)
        ask = organization_ask(selection.get("organizations"))
        coordinator = institution_ask(selection.get("coordinator"))
        found = await info.context.run(
            lambda session: RegistryRead(session).representations(node_ids, ask, coordinator)
        )
        by_id = {item.id: cls.of(item, ask) for item in found}
        return [by_id.get(node_id) for node_id in node_ids]


@strawberry.type(description="An institution on a page, with its cursor.")
class InstitutionEdge:
    cursor: str = strawberry.field(
        description="Pass it as `after` for the institutions after this one, as `before` for those before it."
    )
    node: Institution = strawberry.field(description="The institution.")


@strawberry.type(description="A page of institutions (a Relay connection).")
class InstitutionConnection:
    edges: list[InstitutionEdge] = strawberry.field(
        description="The institutions on this page.", metadata=PAGE_OF_FIRST
    )
    page_info: PageInfo = strawberry.field(
        description="Where this page stands: cursors, and whether more pages follow."
    )
    total_count: int = strawberry.field(
        description="How many institutions there are (of `country`, if given), on all pages."
    )


@strawberry.type(description="An engagement on a page, with its cursor.")
class EngagementEdge:
    cursor: str = strawberry.field(
        description="Pass it as `after` for the engagements after this one, as `before` for those before it."
    )
    node: Engagement = strawberry.field(description="The engagement.")


@strawberry.type(description="A page of engagements (a Relay connection).")
class EngagementConnection:
    edges: list[EngagementEdge] = strawberry.field(description="The engagements on this page.", metadata=PAGE_OF_FIRST)
    page_info: PageInfo = strawberry.field(
        description="Where this page stands: cursors, and whether more pages follow."
    )
    total_count: int = strawberry.field(description="How many engagements match the arguments, on all pages.")


@strawberry.type(description="A representation on a page, with its cursor.")
class RepresentationEdge:
    cursor: str = strawberry.field(
        description="Pass it as `after` for the representations after this one, as `before` for those before it."
    )
    node: Representation = strawberry.field(description="The representation.")


@strawberry.type(description="A page of permanent representations (a Relay connection).")
class RepresentationConnection:
    edges: list[RepresentationEdge] = strawberry.field(
        description="The representations on this page.", metadata=PAGE_OF_FIRST
    )
    page_info: PageInfo = strawberry.field(
        description="Where this page stands: cursors, and whether more pages follow."
    )
    total_count: int = strawberry.field(description="How many representations match the arguments, on all pages.")


async def _organization(
    info: Info[Context, None], organization_id: uuid.UUID | None, selection: Selection | None = None
) -> Organization | None:
    """One organisation with what the field's selection asks of it; None when there is none."""
    ask = organization_ask(selection or Selection.of(info)) or OrganizationAsk()
    if organization_id is None:
        return None
    found = await info.context.run(lambda session: RegistryRead(session).organizations([organization_id], ask))
    return Organization.of(found[0], ask) if found else None


async def _membership(info: Info[Context, None], membership_id: uuid.UUID) -> Membership:
    ask = membership_ask(Selection.of(info))
    found = await info.context.run(lambda session: RegistryRead(session).membership(membership_id, ask))
    return Membership.of(found, ask)


OrganizationIdArgument = described(strawberry.ID, "The organisation's `id` or `rowId`.")
MembershipIdArgument = described(strawberry.ID, "The membership's `id` or `rowId`.")
InstitutionCodeArgument = described(str, "The institution's code (`VP`, `IeM IC`) or an alias.")


async def _institution_by_code(info: Info[Context, None], code: str) -> Institution | None:
    found = await info.context.run(lambda session: RegistryRead(session).institution_by_code(code, InstitutionAsk()))
    return _institution(found)


def _node_selection(connection: Selection) -> Selection:
    """What a connection's selection asks of each node (an empty selection where it asks for no node)."""
    edges = connection.get("edges")
    return (edges.get("node") if edges else None) or Selection(())


@strawberry.type
class RegistryQuery:
    @strawberry.field(
        description=f"Organisations in acronym order, a Relay page at a time ({DEFAULT_LIMIT} unless `first` or "
        "`last` says).",
        metadata=first_page(DEFAULT_LIMIT),
    )
    async def organizations(
        self,
        info: Info[Context, None],
        filter: described(OrganizationFilter | None, "Only the organisations that match.") = None,
        first: PageFirstArgument = None,
        after: PageAfterArgument = None,
        last: PageLastArgument = None,
        before: PageBeforeArgument = None,
    ) -> OrganizationConnection:
        window = Window.of(first=first, after=after, last=last, before=before, default=DEFAULT_LIMIT)
        f = filter or OrganizationFilter()
        query = service.organization_query(
            q=f.q,
            coordinator=f.coordinator,
            member_country=f.member_country,
            financial_obligation=f.financial_obligation,
            updated_since=f.updated_since,
        )
        selection = Selection.of(info)
        edges = selection.get("edges")
        ask = organization_ask(edges.get("node") if edges else None) or OrganizationAsk()
        with_total = "totalCount" in selection
        page = await info.context.run(
            lambda session: RegistryRead(session).organization_page(query, window, ask, with_total=with_total)
        )
        edge_list = [
            OrganizationEdge(cursor=page.cursor_of(item), node=Organization.of(item, ask)) for item in page.items
        ]
        return OrganizationConnection(
            edges=edge_list,
            page_info=page_info([edge.cursor for edge in edge_list], page),
            total_count=page.total_count or 0,
        )

    @strawberry.field(description="One organisation, by id or by acronym.")
    async def organization(
        self,
        info: Info[Context, None],
        id: described(strawberry.ID | None, "The organisation's `id` or `rowId`.") = None,
        acronym: described(str | None, "Or its acronym, e.g. `FRONTEX`.") = None,
    ) -> Organization | None:
        if (id is None) == (acronym is None):
            raise BadRequest("Give exactly one of `id` and `acronym`.")
        if id is not None:
            organization_id: uuid.UUID | None = row_id_of(id, "Organization", "an organisation")
        else:
            organization_id = await info.context.run(
                lambda session: RegistryRead(session).organization_id_of_acronym(str(acronym))
            )
        return await _organization(info, organization_id)

    @strawberry.field(
        description=f"The institutions, ordered by country (descending), then code, a Relay page at a time "
        f"({DEFAULT_LIMIT} unless `first` or `last` says).",
        metadata=first_page(DEFAULT_LIMIT),
    )
    async def institutions(
        self,
        info: Info[Context, None],
        country: described(str | None, "Only this country's institutions (ISO 3166-1 alpha-2).") = None,
        first: PageFirstArgument = None,
        after: PageAfterArgument = None,
        last: PageLastArgument = None,
        before: PageBeforeArgument = None,
    ) -> InstitutionConnection:
        window = Window.of(first=first, after=after, last=last, before=before, default=DEFAULT_LIMIT)
        with_total = "totalCount" in Selection.of(info)
        page = await info.context.run(
            lambda session: RegistryRead(session).institution_page(
                country, window, InstitutionAsk(), with_total=with_total
            )
        )
        edges = [InstitutionEdge(cursor=page.cursor_of(item), node=Institution.of(item)) for item in page.items]
        return InstitutionConnection(
            edges=edges, page_info=page_info([edge.cursor for edge in edges], page), total_count=page.total_count or 0
        )

    @strawberry.field(description="One institution by its code (`VP`, `IeM IC`) or alias.")
    async def institution(self, info: Info[Context, None], code: InstitutionCodeArgument) -> Institution | None:
        return await _institution_by_code(info, code)

    @strawberry.field(
        description=f"Visits and meetings, oldest first, a Relay page at a time ({DEFAULT_LIMIT} unless `first` or "
        "`last` says).",
        metadata=first_page(DEFAULT_LIMIT),
    )
    async def engagements(
        self,
        info: Info[Context, None],
        year: described(int | None, "Only the engagements that started in this year.") = None,
        organization: Annotated[str | None, strawberry.argument(description="Organisation id or acronym.")] = None,
        first: PageFirstArgument = None,
        after: PageAfterArgument = None,
        last: PageLastArgument = None,
        before: PageBeforeArgument = None,
    ) -> EngagementConnection:
        window = Window.of(first=first, after=after, last=last, before=before, default=DEFAULT_LIMIT)
        organization_id = (
            await info.context.run(service.resolve_organization_id, organization) if organization else None
        )
        selection = Selection.of(info)
        node = _node_selection(selection)
        ask = organization_ask(node.get("organization"))
        page = await info.context.run(
            lambda session: RegistryRead(session).engagement_page(
                year=year, organization_id=organization_id, window=window,
                institution=institution_ask(node.get("institution")), organization=ask,
                with_total="totalCount" in selection,
            )
        )  # fmt: skip
        edges = [EngagementEdge(cursor=page.cursor_of(item), node=Engagement.of(item, ask)) for item in page.items]
        return EngagementConnection(
            edges=edges, page_info=page_info([edge.cursor for edge in edges], page), total_count=page.total_count or 0
        )

    @strawberry.field(
        description=f"Permanent representations, in the source's order, a Relay page at a time ({DEFAULT_LIMIT} "
        "unless `first` or `last` says).",
        metadata=first_page(DEFAULT_LIMIT),
    )
    async def representations(
        self,
        info: Info[Context, None],
        first: PageFirstArgument = None,
        after: PageAfterArgument = None,
        last: PageLastArgument = None,
        before: PageBeforeArgument = None,
    ) -> RepresentationConnection:
        window = Window.of(first=first, after=after, last=last, before=before, default=DEFAULT_LIMIT)
        selection = Selection.of(info)
        node = _node_selection(selection)
        ask = organization_ask(node.get("organizations"))
        page = await info.context.run(
            lambda session: RegistryRead(session).representation_page(
                organization_id=None, window=window,
                organizations=ask, coordinator=institution_ask(node.get("coordinator")),
                with_total="totalCount" in selection,
            )
        )  # fmt: skip
        edges = [
            RepresentationEdge(cursor=page.cursor_of(item), node=Representation.of(item, ask)) for item in page.items
        ]
        return RepresentationConnection(
            edges=edges, page_info=page_info([edge.cursor for edge in edges], page), total_count=page.total_count or 0
        )


async def _admin(info: Info[Context, None]) -> Principal:
    principal = await info.context.writer()
    require_admin(principal)
    return principal


@strawberry.input(description="A new institution.")
class InstitutionInput:
    code: str = strawberry.field(description="The short code the institution is known by, e.g. `VP`; unique.")
    name: LocalizedTextInput = strawberry.field(description="Its name.")
    kind: str = strawberry.field(description="What kind of body it is, e.g. `ministry`, `agency`.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2, upper case.")
    parent: str | None = strawberry.field(default=strawberry.UNSET, description="Code of the parent institution.")
    aliases: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Other codes or names it is known by."
    )


@strawberry.input(description="A merge patch: a field left out keeps its value, null removes it.")
class InstitutionPatchInput:
    name: LocalizedTextInput | None = strawberry.field(default=strawberry.UNSET, description="Its name.")
    kind: str | None = strawberry.field(default=strawberry.UNSET, description="What kind of body it is.")
    country: str | None = strawberry.field(default=strawberry.UNSET, description="ISO 3166-1 alpha-2, upper case.")
    parent: str | None = strawberry.field(
        default=strawberry.UNSET, description="Code of the parent institution; null: none."
    )
    aliases: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Other codes or names it is known by (replaces the list)."
    )


@strawberry.input(description="A new organisation.")
class OrganizationInput:
    name: LocalizedTextInput = strawberry.field(description="Its name in several languages.")
    kind: str = strawberry.field(description="What kind of body it is, e.g. `intergovernmental`, `eu_agency`, `forum`.")
    acronym: str | None = strawberry.field(default=strawberry.UNSET, description="Its acronym, e.g. `FRONTEX`; unique.")
    parent: str | None = strawberry.field(default=strawberry.UNSET, description="Parent organisation id or acronym.")
    aliases: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Other names or acronyms it is known by."
    )
    established: str | None = strawberry.field(default=strawberry.UNSET, description="ISO 8601 partial date.")
    sources: list[str] | None = strawberry.field(default=strawberry.UNSET, description=SOURCES)


@strawberry.input(description="A merge patch: a field left out keeps its value, null removes it.")
class OrganizationPatchInput:
    acronym: str | None = strawberry.field(default=strawberry.UNSET, description="Its acronym, e.g. `FRONTEX`; unique.")
    name: LocalizedTextInput | None = strawberry.field(
        default=strawberry.UNSET, description="Its name in several languages."
    )
    kind: str | None = strawberry.field(
        default=strawberry.UNSET, description="What kind of body it is, e.g. `intergovernmental`, `eu_agency`, `forum`."
    )
    parent: str | None = strawberry.field(
        default=strawberry.UNSET, description="Parent organisation id or acronym; null: none."
    )
    aliases: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Other names or acronyms it is known by."
    )
    established: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 8601 partial date it was established."
    )
    sources: list[str] | None = strawberry.field(default=strawberry.UNSET, description=SOURCES)


@strawberry.input(description="A dated event of a membership.")
class MembershipEventInput:
    date: str = strawberry.field(description="ISO 8601 partial date.")
    kind: str = strawberry.field(description="What happened, e.g. `joined`, `left`.")
    organization: str | None = strawberry.field(default=strawberry.UNSET, description="The other organisation.")


@strawberry.input(description="A new membership of a national institution in an organisation.")
class MembershipInput:
    member: str = strawberry.field(description="Code of the member institution.")
    relation: Relation = strawberry.field(description="How the institution is tied to the organisation.")
    since: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 8601 partial date it began: `1999`, `2010-05`, `2018-11-06`."
    )
    until: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 8601 partial date it ended; null while it lasts."
    )
    coordinator: str | None = strawberry.field(
        default=strawberry.UNSET, description="Code of the institution coordinating the membership."
    )
    financial_obligation: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether it obliges a contribution; null where the source does not say."
    )
    events: list[MembershipEventInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Its dated events, oldest first."
    )
    note: LocalizedTextInput | None = strawberry.field(default=strawberry.UNSET, description="A note on it.")
    sources: list[str] | None = strawberry.field(default=strawberry.UNSET, description=SOURCES)


@strawberry.input(description="A merge patch: a field left out keeps its value, null removes it; `events` replaces.")
class MembershipPatchInput:
    since: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 8601 partial date it began: `1999`, `2010-05`, `2018-11-06`."
    )
    until: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 8601 partial date it ended; null while it lasts."
    )
    coordinator: str | None = strawberry.field(
        default=strawberry.UNSET, description="Code of the institution coordinating the membership."
    )
    financial_obligation: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether it obliges a contribution; null where the source does not say."
    )
    events: list[MembershipEventInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Its dated events, oldest first."
    )
    note: LocalizedTextInput | None = strawberry.field(default=strawberry.UNSET, description="A note on it.")
    sources: list[str] | None = strawberry.field(default=strawberry.UNSET, description=SOURCES)


@strawberry.type
class RegistryMutation:
    @strawberry.mutation(description="Admin: add an institution.")
    async def create_institution(
        self, info: Info[Context, None], input: described(InstitutionInput, "The institution to add.")
    ) -> Institution:
        principal = await _admin(info)
        data = validated_input(InstitutionIn, input)
        out = await info.context.run(service.create_institution, principal, data)
        return await _institution_by_code(info, out["code"])  # type: ignore[return-value]  # just written

    @strawberry.mutation(description="Admin: change an institution (a merge patch, against its `etag`).")
    async def update_institution(
        self,
        info: Info[Context, None],
        code: InstitutionCodeArgument,
        input: described(InstitutionPatchInput, "What to change."),
        if_match: IfMatchArgument = None,
    ) -> Institution:
        principal = await _admin(info)
        patch = validated_input(InstitutionPatch, input)
        out = await info.context.run(service.update_institution, principal, code, patch, if_match_of(if_match))
        return await _institution_by_code(info, out["code"])  # type: ignore[return-value]  # just written

    @strawberry.mutation(description="Admin: delete an institution nothing refers to.")
    async def delete_institution(
        self, info: Info[Context, None], code: InstitutionCodeArgument, if_match: IfMatchArgument = None
    ) -> bool:
        await info.context.run(service.delete_institution, await _admin(info), code, if_match_of(if_match))
        return True

    @strawberry.mutation(description="Admin: add an organisation.")
    async def create_organization(
        self, info: Info[Context, None], input: described(OrganizationInput, "The organisation to add.")
    ) -> Organization:
        principal = await _admin(info)
        data = validated_input(OrganizationIn, input)
        out = await info.context.run(service.create_organization, principal, data)
        return await _organization(info, out["id"])  # type: ignore[return-value]  # just written

    @strawberry.mutation(description="Admin: change an organisation (a merge patch, against its `etag`).")
    async def update_organization(
        self,
        info: Info[Context, None],
        id: OrganizationIdArgument,
        input: described(OrganizationPatchInput, "What to change."),
        if_match: IfMatchArgument = None,
    ) -> Organization:
        principal = await _admin(info)
        organization_id = row_id_of(id, "Organization", "an organisation")
        patch = validated_input(OrganizationPatch, input)
        await info.context.run(service.update_organization, principal, organization_id, patch, if_match_of(if_match))
        return await _organization(info, organization_id)  # type: ignore[return-value]  # just written

    @strawberry.mutation(description="Admin: delete an organisation and its memberships (tombstones stay).")
    async def delete_organization(
        self, info: Info[Context, None], id: OrganizationIdArgument, if_match: IfMatchArgument = None
    ) -> bool:
        organization_id = row_id_of(id, "Organization", "an organisation")
        await info.context.run(service.delete_organization, await _admin(info), organization_id, if_match_of(if_match))
        return True

    @strawberry.mutation(description="Admin: add a membership to an organisation.")
    async def create_membership(
        self,
        info: Info[Context, None],
        organization_id: OrganizationIdArgument,
        input: described(MembershipInput, "The membership to add."),
    ) -> Membership:
        principal = await _admin(info)
        out = await info.context.run(
            service.create_membership,
            principal,
            row_id_of(organization_id, "Organization", "an organisation"),
            validated_input(MembershipIn, input),
        )
        return await _membership(info, out["id"])

    @strawberry.mutation(description="Admin: change a membership (a merge patch, against its `etag`).")
    async def update_membership(
        self,
        info: Info[Context, None],
        id: MembershipIdArgument,
        input: described(MembershipPatchInput, "What to change."),
        if_match: IfMatchArgument = None,
    ) -> Membership:
        principal = await _admin(info)
        membership_id = row_id_of(id, "Membership", "a membership")
        patch = validated_input(MembershipPatch, input)
        await info.context.run(service.update_membership, principal, membership_id, patch, if_match_of(if_match))
        return await _membership(info, membership_id)

    @strawberry.mutation(description="Admin: delete a membership (a tombstone stays).")
    async def delete_membership(
        self, info: Info[Context, None], id: MembershipIdArgument, if_match: IfMatchArgument = None
    ) -> bool:
        membership_id = row_id_of(id, "Membership", "a membership")
        await info.context.run(service.delete_membership, await _admin(info), membership_id, if_match_of(if_match))
        return True
