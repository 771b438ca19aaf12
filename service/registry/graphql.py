"""The registry in GraphQL: types filled from `reads.py`'s objects, the Query and Mutation fields."""

import datetime as dt
import uuid
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from service.core import partial_date
from service.core.auth import Principal, require_admin
from service.core.errors import BadRequest, quoted
from service.core.graphql import Context
from service.core.graphql_cost import PAGE_OF_FIRST, at_most
from service.core.graphql_types import (
    ETAG_DESCRIPTION,
    CursorArgument,
    IfMatchArgument,
    LocalizedText,
    LocalizedTextInput,
    PageInfo,
    Precision,
    Selection,
    check_first,
    if_match_of,
    validated_input,
)
from service.core.i18n import LANGUAGES
from service.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
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

Relation = strawberry.enum(models.Relation)
ProvenanceBasis = strawberry.enum(Basis, name="ProvenanceBasis")


@strawberry.type(description="Where one fact comes from: a source document's words, or supplied here.")
class FactProvenance:
    basis: ProvenanceBasis
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


@strawberry.type
class NameProvenance:
    lv: FactProvenance | None
    en: FactProvenance | None
    lt: FactProvenance | None
    original: FactProvenance | None

    @classmethod
    def of(cls, names: dict | None) -> "NameProvenance":
        names = names or {}
        return cls(**{language: FactProvenance.of(names.get(language)) for language in LANGUAGES})


@strawberry.type
class InstitutionProvenance:
    name: NameProvenance
    kind: FactProvenance | None
    parent: FactProvenance | None

    @classmethod
    def of(cls, facts: dict) -> "InstitutionProvenance":
        return cls(name=NameProvenance.of(facts.get("name")), **_facts(facts, INSTITUTION_FACTS))


@strawberry.type
class OrganizationProvenance(InstitutionProvenance):
    established: FactProvenance | None

    @classmethod
    def of(cls, facts: dict) -> "OrganizationProvenance":
        return cls(name=NameProvenance.of(facts.get("name")), **_facts(facts, ORGANIZATION_FACTS))


@strawberry.type
class MembershipProvenance:
    relation: FactProvenance | None
    since: FactProvenance | None
    until: FactProvenance | None

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
class Institution:
    id: strawberry.ID
    code: str
    name: LocalizedText
    aliases: list[str]
    kind: str
    country: str
    sources: list[str]
    updated_at: dt.datetime
    parent_id: strawberry.Private[uuid.UUID | None]
    provenance: InstitutionProvenance = strawberry.field(
        description="Per fact: from a source document, or supplied here."
    )

    @classmethod
    def of(cls, row: Any) -> "Institution":
        """From anything with an institution's columns: an ORM row, a Core row, a read's InstitutionData."""
        return cls(
            id=strawberry.ID(str(row.id)),
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

    @strawberry.field
    async def parent(self, info: Info[Context, None]) -> "Institution | None":
        return await load_institution(info, self.parent_id)

    @strawberry.field(description=ETAG_DESCRIPTION)
    async def etag(self, info: Info[Context, None]) -> str:
        return await info.context.loader(service.institution_etags).load(uuid.UUID(self.id))


def _institution(data: InstitutionData | None) -> Institution | None:
    return Institution.of(data) if data is not None else None


@strawberry.type
class MembershipEvent:
    date: str
    precision: Precision
    kind: str
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
class Membership:
    id: strawberry.ID
    relation: Relation
    since: str | None = strawberry.field(description="ISO 8601 in the source's precision: 1999, 2010-05, 2018-11-06.")
    since_precision: Precision | None
    until: str | None
    until_precision: Precision | None
    financial_obligation: bool | None = strawberry.field(description="null where the source does not say.")
    events: list[MembershipEvent] = strawberry.field(metadata=at_most(5))
    note: LocalizedText | None
    sources: list[str]
    updated_at: dt.datetime
    member: Institution
    coordinator: Institution | None
    provenance: MembershipProvenance = strawberry.field(
        description="Per fact: from a source document, or supplied here."
    )

    @classmethod
    def of(cls, data: MembershipData, ask: MembershipAsk) -> "Membership":
        return cls(
            id=strawberry.ID(str(data.id)),
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
        return await info.context.loader(service.membership_etags).load(uuid.UUID(self.id))


@strawberry.type(description="An international organisation, body, committee or forum.")
class Organization:
    id: strawberry.ID
    acronym: str | None
    name: LocalizedText
    aliases: list[str]
    kind: str
    established: str | None
    sources: list[str]
    updated_at: dt.datetime
    parent: "Organization | None"
    memberships: list[Membership] = strawberry.field(metadata=at_most(6))
    row_id: strawberry.Private[uuid.UUID]
    provenance: OrganizationProvenance = strawberry.field(
        description="Per fact: from a source document, or supplied here."
    )

    @classmethod
    def of(cls, data: OrganizationData, ask: OrganizationAsk) -> "Organization":
        """The organisation and what `ask` fetched of it (following the ask, not the rows: a parent that is
        its child's parent again would otherwise never end)."""
        membership_ask = ask.memberships
        return cls(
            id=strawberry.ID(str(data.id)),
            acronym=data.acronym,
            name=LocalizedText.of(data.name),  # type: ignore[arg-type]  # a name is never null
            aliases=data.aliases,
            kind=data.kind,
            established=data.established,
            sources=data.sources,
            updated_at=data.updated_at,
            parent=Organization.of(data.parent, ask.parent) if data.parent and ask.parent else None,
            memberships=[Membership.of(m, membership_ask) for m in data.memberships] if membership_ask else [],
            row_id=data.id,
            provenance=OrganizationProvenance.of(data.provenance),
        )

    @strawberry.field(description=ETAG_DESCRIPTION)
    async def etag(self, info: Info[Context, None]) -> str:
        return await info.context.loader(service.organization_etags).load(self.row_id)


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


@strawberry.type
class OrganizationEdge:
    cursor: str
    node: Organization


@strawberry.type
class OrganizationConnection:
    edges: list[OrganizationEdge] = strawberry.field(metadata=PAGE_OF_FIRST)
    page_info: PageInfo
    total_count: int = strawberry.field(description="How many organisations match the filter, on all pages.")


@strawberry.input
class OrganizationFilter:
    q: str | None = strawberry.field(default=None, description="Acronym or any name; case- and diacritic-insensitive.")
    coordinator: str | None = strawberry.field(default=None, description="Code of the coordinating institution.")
    member_country: str | None = None
    financial_obligation: bool | None = None
    updated_since: dt.datetime | None = None


@strawberry.type
class Engagement:
    id: strawberry.ID
    start_date: str
    end_date: str | None
    title: LocalizedText
    place: LocalizedText
    country: str
    participants: list[LocalizedText] = strawberry.field(metadata=at_most(5))
    sources: list[str]
    updated_at: dt.datetime
    institution: Institution | None
    organization: Organization | None

    @classmethod
    def of(cls, data: EngagementData, ask: OrganizationAsk | None) -> "Engagement":
        return cls(
            id=strawberry.ID(str(data.id)),
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


@strawberry.type
class Representation:
    id: strawberry.ID
    country: str
    city: LocalizedText
    city_country: str
    source_text: str
    sources: list[str]
    updated_at: dt.datetime
    organizations: list[Organization] = strawberry.field(metadata=at_most(5))
    coordinator: Institution | None

    @classmethod
    def of(cls, data: RepresentationData, ask: OrganizationAsk | None) -> "Representation":
        return cls(
            id=strawberry.ID(str(data.id)),
            country=data.country,
            city=LocalizedText.of(data.city),  # type: ignore[arg-type]
            city_country=data.city_country,
            source_text=data.source_text,
            sources=data.sources,
            updated_at=data.updated_at,
            organizations=[Organization.of(o, ask) for o in data.organizations] if ask else [],
            coordinator=_institution(data.coordinator),
        )


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


async def _institution_by_code(info: Info[Context, None], code: str) -> Institution | None:
    found = await info.context.run(lambda session: RegistryRead(session).institution_by_code(code, InstitutionAsk()))
    return _institution(found)


@strawberry.type
class RegistryQuery:
    @strawberry.field(description="Organisations in acronym order, a Relay page at a time.")
    async def organizations(
        self,
        info: Info[Context, None],
        filter: OrganizationFilter | None = None,
        first: int = DEFAULT_LIMIT,
        after: CursorArgument = None,
    ) -> OrganizationConnection:
        check_first(first)
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
            lambda session: RegistryRead(session).organization_page(query, first, after, ask, with_total=with_total)
        )
        edge_list = [
            OrganizationEdge(cursor=page.cursor_of(item), node=Organization.of(item, ask)) for item in page.items
        ]
        page_info = PageInfo(
            has_next_page=page.next_cursor is not None, end_cursor=edge_list[-1].cursor if edge_list else None
        )
        return OrganizationConnection(edges=edge_list, page_info=page_info, total_count=page.total_count or 0)

    @strawberry.field(description="One organisation, by id or by acronym.")
    async def organization(
        self, info: Info[Context, None], id: strawberry.ID | None = None, acronym: str | None = None
    ) -> Organization | None:
        if (id is None) == (acronym is None):
            raise BadRequest("Give exactly one of `id` and `acronym`.")
        if id is not None:
            try:
                organization_id: uuid.UUID | None = uuid.UUID(str(id))
            except ValueError:
                raise BadRequest(f"{quoted(id)} is not an organisation id.") from None
        else:
            organization_id = await info.context.run(
                lambda session: RegistryRead(session).organization_id_of_acronym(str(acronym))
            )
        return await _organization(info, organization_id)

    @strawberry.field(metadata=at_most(50))
    async def institutions(self, info: Info[Context, None], country: str | None = None) -> list[Institution]:
        found = await info.context.run(
            lambda session: RegistryRead(session).institution_list(country, InstitutionAsk())
        )
        return [Institution.of(item) for item in found]

    @strawberry.field(description="One institution by its code (`VP`, `IeM IC`) or alias.")
    async def institution(self, info: Info[Context, None], code: str) -> Institution | None:
        return await _institution_by_code(info, code)

    @strawberry.field(description="Visits and meetings, oldest first.", metadata=at_most(MAX_LIMIT))
    async def engagements(
        self,
        info: Info[Context, None],
        year: int | None = None,
        organization: Annotated[str | None, strawberry.argument(description="Organisation id or acronym.")] = None,
    ) -> list[Engagement]:
        organization_id = (
            await info.context.run(service.resolve_organization_id, organization) if organization else None
        )
        selection = Selection.of(info)
        ask = organization_ask(selection.get("organization"))
        items, _ = await info.context.run(
            lambda session: RegistryRead(session).engagement_page(
                year=year, organization_id=organization_id, limit=MAX_LIMIT, cursor=None,
                institution=institution_ask(selection.get("institution")), organization=ask,
            )
        )  # fmt: skip
        return [Engagement.of(item, ask) for item in items]

    @strawberry.field(description="Permanent representations, in the source's order.", metadata=at_most(20))
    async def representations(self, info: Info[Context, None]) -> list[Representation]:
        selection = Selection.of(info)
        ask = organization_ask(selection.get("organizations"))
        items, _ = await info.context.run(
            lambda session: RegistryRead(session).representation_page(
                organization_id=None, limit=MAX_LIMIT, cursor=None,
                organizations=ask, coordinator=institution_ask(selection.get("coordinator")),
            )
        )  # fmt: skip
        return [Representation.of(item, ask) for item in items]


def _uuid(value: strawberry.ID, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise BadRequest(f"{quoted(value)} is not {what} id.") from None


async def _admin(info: Info[Context, None]) -> Principal:
    principal = await info.context.writer()
    require_admin(principal)
    return principal


@strawberry.input
class InstitutionInput:
    code: str
    name: LocalizedTextInput
    kind: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2, upper case.")
    parent: str | None = strawberry.field(default=strawberry.UNSET, description="Code of the parent institution.")
    aliases: list[str] | None = strawberry.UNSET


@strawberry.input(description="A merge patch: a field left out keeps its value, null removes it.")
class InstitutionPatchInput:
    name: LocalizedTextInput | None = strawberry.UNSET
    kind: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    parent: str | None = strawberry.UNSET
    aliases: list[str] | None = strawberry.UNSET


@strawberry.input
class OrganizationInput:
    name: LocalizedTextInput
    kind: str
    acronym: str | None = strawberry.UNSET
    parent: str | None = strawberry.field(default=strawberry.UNSET, description="Parent organisation id or acronym.")
    aliases: list[str] | None = strawberry.UNSET
    established: str | None = strawberry.field(default=strawberry.UNSET, description="ISO 8601 partial date.")
    sources: list[str] | None = strawberry.UNSET


@strawberry.input(description="A merge patch: a field left out keeps its value, null removes it.")
class OrganizationPatchInput:
    acronym: str | None = strawberry.UNSET
    name: LocalizedTextInput | None = strawberry.UNSET
    kind: str | None = strawberry.UNSET
    parent: str | None = strawberry.UNSET
    aliases: list[str] | None = strawberry.UNSET
    established: str | None = strawberry.UNSET
    sources: list[str] | None = strawberry.UNSET


@strawberry.input
class MembershipEventInput:
    date: str = strawberry.field(description="ISO 8601 partial date.")
    kind: str
    organization: str | None = strawberry.field(default=strawberry.UNSET, description="The other organisation.")


@strawberry.input
class MembershipInput:
    member: str = strawberry.field(description="Code of the member institution.")
    relation: Relation
    since: str | None = strawberry.UNSET
    until: str | None = strawberry.UNSET
    coordinator: str | None = strawberry.UNSET
    financial_obligation: bool | None = strawberry.UNSET
    events: list[MembershipEventInput] | None = strawberry.UNSET
    note: LocalizedTextInput | None = strawberry.UNSET
    sources: list[str] | None = strawberry.UNSET


@strawberry.input(description="A merge patch: a field left out keeps its value, null removes it; `events` replaces.")
class MembershipPatchInput:
    since: str | None = strawberry.UNSET
    until: str | None = strawberry.UNSET
    coordinator: str | None = strawberry.UNSET
    financial_obligation: bool | None = strawberry.UNSET
    events: list[MembershipEventInput] | None = strawberry.UNSET
    note: LocalizedTextInput | None = strawberry.UNSET
    sources: list[str] | None = strawberry.UNSET


@strawberry.type
class RegistryMutation:
    @strawberry.mutation(description="Admin: add an institution.")
    async def create_institution(self, info: Info[Context, None], input: InstitutionInput) -> Institution:
        principal = await _admin(info)
        data = validated_input(InstitutionIn, input)
        out = await info.context.run(service.create_institution, principal, data)
        return await _institution_by_code(info, out["code"])  # type: ignore[return-value]  # just written

    @strawberry.mutation(description="Admin: change an institution (a merge patch, against its `etag`).")
    async def update_institution(
        self, info: Info[Context, None], code: str, input: InstitutionPatchInput, if_match: IfMatchArgument = None
    ) -> Institution:
        principal = await _admin(info)
        patch = validated_input(InstitutionPatch, input)
        out = await info.context.run(service.update_institution, principal, code, patch, if_match_of(if_match))
        return await _institution_by_code(info, out["code"])  # type: ignore[return-value]  # just written

    @strawberry.mutation(description="Admin: delete an institution nothing refers to.")
    async def delete_institution(self, info: Info[Context, None], code: str, if_match: IfMatchArgument = None) -> bool:
        await info.context.run(service.delete_institution, await _admin(info), code, if_match_of(if_match))
        return True

    @strawberry.mutation(description="Admin: add an organisation.")
    async def create_organization(self, info: Info[Context, None], input: OrganizationInput) -> Organization:
        principal = await _admin(info)
        data = validated_input(OrganizationIn, input)
        out = await info.context.run(service.create_organization, principal, data)
        return await _organization(info, out["id"])  # type: ignore[return-value]  # just written

    @strawberry.mutation(description="Admin: change an organisation (a merge patch, against its `etag`).")
    async def update_organization(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        input: OrganizationPatchInput,
        if_match: IfMatchArgument = None,
    ) -> Organization:
        principal = await _admin(info)
        organization_id = _uuid(id, "an organisation")
        patch = validated_input(OrganizationPatch, input)
        await info.context.run(service.update_organization, principal, organization_id, patch, if_match_of(if_match))
        return await _organization(info, organization_id)  # type: ignore[return-value]  # just written

    @strawberry.mutation(description="Admin: delete an organisation and its memberships (tombstones stay).")
    async def delete_organization(
        self, info: Info[Context, None], id: strawberry.ID, if_match: IfMatchArgument = None
    ) -> bool:
        organization_id = _uuid(id, "an organisation")
        await info.context.run(service.delete_organization, await _admin(info), organization_id, if_match_of(if_match))
        return True

    @strawberry.mutation(description="Admin: add a membership to an organisation.")
    async def create_membership(
        self, info: Info[Context, None], organization_id: strawberry.ID, input: MembershipInput
    ) -> Membership:
        principal = await _admin(info)
        out = await info.context.run(
            service.create_membership,
            principal,
            _uuid(organization_id, "an organisation"),
            validated_input(MembershipIn, input),
        )
        return await _membership(info, out["id"])

    @strawberry.mutation(description="Admin: change a membership (a merge patch, against its `etag`).")
    async def update_membership(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        input: MembershipPatchInput,
        if_match: IfMatchArgument = None,
    ) -> Membership:
        principal = await _admin(info)
        membership_id = _uuid(id, "a membership")
        patch = validated_input(MembershipPatch, input)
        await info.context.run(service.update_membership, principal, membership_id, patch, if_match_of(if_match))
        return await _membership(info, membership_id)

    @strawberry.mutation(description="Admin: delete a membership (a tombstone stays).")
    async def delete_membership(
        self, info: Info[Context, None], id: strawberry.ID, if_match: IfMatchArgument = None
    ) -> bool:
        membership_id = _uuid(id, "a membership")
        await info.context.run(service.delete_membership, await _admin(info), membership_id, if_match_of(if_match))
        return True
