"""The registry in GraphQL: types, the Query fields, and DataLoaders over the repository."""

import datetime as dt
import uuid
from typing import Annotated

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
    check_first,
    if_match_of,
    validated_input,
)
from service.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, encode_cursor
from service.registry import models, repository, service
from service.registry.schemas import (
    InstitutionIn,
    InstitutionPatch,
    MembershipIn,
    MembershipPatch,
    OrganizationIn,
    OrganizationPatch,
)

Relation = strawberry.enum(models.Relation)


def _precision(value: str | None) -> partial_date.Precision | None:
    return partial_date.parse(value) if value else None


async def load_institution(info: Info[Context, None], institution_id: uuid.UUID | None) -> "Institution | None":
    if institution_id is None:
        return None
    row = await info.context.loader(repository.institutions_by_ids).load(institution_id)
    return Institution.of(row) if row else None


async def load_institutions(info: Info[Context, None], institution_ids: list[uuid.UUID]) -> "list[Institution]":
    """Many institutions in one batch: awaiting them one by one would cost a statement each."""
    rows = await info.context.loader(repository.institutions_by_ids).load_many(institution_ids)
    return [Institution.of(row) for row in rows if row is not None]


async def load_organization(info: Info[Context, None], organization_id: uuid.UUID | None) -> "Organization | None":
    if organization_id is None:
        return None
    row = await info.context.loader(repository.organizations_by_ids).load(organization_id)
    return Organization.of(row) if row else None


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

    @classmethod
    def of(cls, row: models.Institution) -> "Institution":
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
        )

    @strawberry.field
    async def parent(self, info: Info[Context, None]) -> "Institution | None":
        return await load_institution(info, self.parent_id)

    @strawberry.field(description=ETAG_DESCRIPTION)
    async def etag(self, info: Info[Context, None]) -> str:
        return await info.context.loader(service.institution_etags).load(uuid.UUID(self.id))


@strawberry.type
class MembershipEvent:
    date: str
    precision: Precision
    kind: str
    organization_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The other organisation the event concerns, e.g. the parent joined first.")
    async def organization(self, info: Info[Context, None]) -> "Organization | None":
        return await load_organization(info, self.organization_id)


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
    member_id: strawberry.Private[uuid.UUID]
    coordinator_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def of(cls, row: models.Membership) -> "Membership":
        events = [
            MembershipEvent(
                date=e["date"],
                precision=partial_date.parse(e["date"]),
                kind=e["kind"],
                organization_id=uuid.UUID(e["organization_id"]) if e.get("organization_id") else None,
            )
            for e in row.events
        ]
        return cls(
            id=strawberry.ID(str(row.id)),
            relation=row.relation,
            since=row.since,
            since_precision=_precision(row.since),
            until=row.until,
            until_precision=_precision(row.until),
            financial_obligation=row.financial_obligation,
            events=events,
            note=LocalizedText.of(row.note),
            sources=row.sources,
            updated_at=row.updated_at,
            member_id=row.member_id,
            coordinator_id=row.coordinator_id,
        )

    @strawberry.field
    async def member(self, info: Info[Context, None]) -> Institution:
        member = await load_institution(info, self.member_id)
        assert member is not None  # a foreign key guarantees it
        return member

    @strawberry.field
    async def coordinator(self, info: Info[Context, None]) -> Institution | None:
        return await load_institution(info, self.coordinator_id)

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
    parent_id: strawberry.Private[uuid.UUID | None]
    row_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: models.Organization) -> "Organization":
        return cls(
            id=strawberry.ID(str(row.id)),
            acronym=row.acronym,
            name=LocalizedText.of(row.name),
            aliases=row.aliases,
            kind=row.kind,
            established=row.established,
            sources=row.sources,
            updated_at=row.updated_at,
            parent_id=row.parent_id,
            row_id=row.id,
        )

    @strawberry.field
    async def parent(self, info: Info[Context, None]) -> "Organization | None":
        return await load_organization(info, self.parent_id)

    @strawberry.field(metadata=at_most(6))
    async def memberships(self, info: Info[Context, None]) -> list[Membership]:
        rows = await info.context.loader(repository.memberships_by_organization, missing=list).load(self.row_id)
        return [Membership.of(row) for row in rows]

    @strawberry.field(description=ETAG_DESCRIPTION)
    async def etag(self, info: Info[Context, None]) -> str:
        return await info.context.loader(service.organization_etags).load(self.row_id)


@strawberry.type
class OrganizationEdge:
    cursor: str
    node: Organization


@strawberry.type
class OrganizationConnection:
    edges: list[OrganizationEdge] = strawberry.field(metadata=PAGE_OF_FIRST)
    page_info: PageInfo
    query: strawberry.Private[repository.OrganizationQuery]

    @strawberry.field(description="How many organisations match the filter, on all pages.")
    async def total_count(self, info: Info[Context, None]) -> int:
        return await info.context.run(repository.count_organizations, self.query)


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
    institution_id: strawberry.Private[uuid.UUID | None]
    organization_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def institution(self, info: Info[Context, None]) -> Institution | None:
        return await load_institution(info, self.institution_id)

    @strawberry.field
    async def organization(self, info: Info[Context, None]) -> Organization | None:
        return await load_organization(info, self.organization_id)


@strawberry.type
class Representation:
    id: strawberry.ID
    country: str
    city: LocalizedText
    city_country: str
    source_text: str
    sources: list[str]
    updated_at: dt.datetime
    organization_ids: strawberry.Private[list[uuid.UUID]]
    coordinator_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(metadata=at_most(5))
    async def organizations(self, info: Info[Context, None]) -> list[Organization]:
        rows = await info.context.loader(repository.organizations_by_ids).load_many(self.organization_ids)
        return [Organization.of(row) for row in rows]

    @strawberry.field
    async def coordinator(self, info: Info[Context, None]) -> Institution | None:
        return await load_institution(info, self.coordinator_id)


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
        rows, next_cursor = await info.context.run(service.page_organizations, query, first, after)
        edges = [
            OrganizationEdge(cursor=encode_cursor([row.sort_key, str(row.id)]), node=Organization.of(row))
            for row in rows
        ]
        page_info = PageInfo(has_next_page=next_cursor is not None, end_cursor=edges[-1].cursor if edges else None)
        return OrganizationConnection(edges=edges, page_info=page_info, query=query)

    @strawberry.field(description="One organisation, by id or by acronym.")
    async def organization(
        self, info: Info[Context, None], id: strawberry.ID | None = None, acronym: str | None = None
    ) -> Organization | None:
        if (id is None) == (acronym is None):
            raise BadRequest("Give exactly one of `id` and `acronym`.")
        if id is not None:
            try:
                organization_id = uuid.UUID(str(id))
            except ValueError:
                raise BadRequest(f"{quoted(id)} is not an organisation id.") from None
            row = await info.context.run(repository.get_organization, organization_id)
        else:
            row = await info.context.run(repository.get_organization_by_acronym, acronym)
        return Organization.of(row) if row else None

    @strawberry.field(metadata=at_most(50))
    async def institutions(self, info: Info[Context, None], country: str | None = None) -> list[Institution]:
        rows = await info.context.run(repository.list_institutions, country.upper() if country else None)
        return [Institution.of(row) for row in rows]

    @strawberry.field(description="One institution by its code (`VP`, `IeM IC`) or alias.")
    async def institution(self, info: Info[Context, None], code: str) -> Institution | None:
        row = await info.context.run(repository.get_institution_by_code, code)
        return Institution.of(row) if row else None

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
        rows = await info.context.run(
            repository.list_engagements, year=year, organization_id=organization_id, limit=MAX_LIMIT, after=None
        )
        return [
            Engagement(
                id=strawberry.ID(str(row.id)),
                start_date=row.start_date,
                end_date=row.end_date,
                title=LocalizedText.of(row.title),
                place=LocalizedText.of(row.place),
                country=row.country,
                participants=[LocalizedText.of(p) for p in row.participants],
                sources=row.sources,
                updated_at=row.updated_at,
                institution_id=row.institution_id,
                organization_id=row.organization_id,
            )
            for row in rows[:MAX_LIMIT]
        ]

    @strawberry.field(description="Permanent representations, in the source's order.", metadata=at_most(20))
    async def representations(self, info: Info[Context, None]) -> list[Representation]:
        rows = await info.context.run(
            repository.list_representations, organization_id=None, limit=MAX_LIMIT, after=None
        )
        organization_ids = await info.context.run(repository.organization_ids_by_representation, [r.id for r in rows])
        return [
            Representation(
                id=strawberry.ID(str(row.id)),
                country=row.country,
                city=LocalizedText.of(row.city),
                city_country=row.city_country,
                source_text=row.source_text,
                sources=row.sources,
                updated_at=row.updated_at,
                organization_ids=organization_ids[row.id],
                coordinator_id=row.coordinator_id,
            )
            for row in rows[:MAX_LIMIT]
        ]


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
        return Institution.of(await info.context.run(repository.get_institution_by_code, out.code))

    @strawberry.mutation(description="Admin: change an institution (a merge patch, against its `etag`).")
    async def update_institution(
        self, info: Info[Context, None], code: str, input: InstitutionPatchInput, if_match: IfMatchArgument = None
    ) -> Institution:
        principal = await _admin(info)
        patch = validated_input(InstitutionPatch, input)
        out = await info.context.run(service.update_institution, principal, code, patch, if_match_of(if_match))
        return Institution.of(await info.context.run(repository.get_institution_by_code, out.code))

    @strawberry.mutation(description="Admin: delete an institution nothing refers to.")
    async def delete_institution(self, info: Info[Context, None], code: str, if_match: IfMatchArgument = None) -> bool:
        await info.context.run(service.delete_institution, await _admin(info), code, if_match_of(if_match))
        return True

    @strawberry.mutation(description="Admin: add an organisation.")
    async def create_organization(self, info: Info[Context, None], input: OrganizationInput) -> Organization:
        principal = await _admin(info)
        data = validated_input(OrganizationIn, input)
        out = await info.context.run(service.create_organization, principal, data)
        return Organization.of(await info.context.run(repository.get_organization, out.id))

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
        return Organization.of(await info.context.run(repository.get_organization, organization_id))

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
        return Membership.of(await info.context.run(repository.get_membership, out.id))

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
        return Membership.of(await info.context.run(repository.get_membership, membership_id))

    @strawberry.mutation(description="Admin: delete a membership (a tombstone stays).")
    async def delete_membership(
        self, info: Info[Context, None], id: strawberry.ID, if_match: IfMatchArgument = None
    ) -> bool:
        membership_id = _uuid(id, "a membership")
        await info.context.run(service.delete_membership, await _admin(info), membership_id, if_match_of(if_match))
        return True
