"""The registry's one read path: what the caller asked for → a bounded number of statements → plain objects.

A caller describes the subtree it wants with `Ask`s: REST routes with their fixed shapes (below), GraphQL with
the selection set read once at its root field. The read fetches one level of the tree at a time, each level
in one statement per kind of row (organisations, memberships, institutions) for every object of that level at
once, so a page of 500 costs the statements a page of 5 does. Rows that several places of the tree name (a
parent, an event's organisation, a coordinator) are fetched once per request. REST maps the objects to JSON
(`service.py`), GraphQL to its types (`graphql.py`), each in one place.
"""

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from service.core import journal
from service.core.errors import NotFound
from service.core.models import named_row_id
from service.core.pagination import Slice, Window, encode_cursor
from service.registry import repository
from service.registry.repository import OrganizationQuery

T = TypeVar("T")

# --- what a caller asks for ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstitutionAsk:
    parent: "InstitutionAsk | None" = None


@dataclass(frozen=True)
class OrganizationAsk:
    parent: "OrganizationAsk | None" = None
    memberships: "MembershipAsk | None" = None


@dataclass(frozen=True)
class MembershipAsk:
    member: InstitutionAsk | None = None
    coordinator: InstitutionAsk | None = None
    event_organizations: OrganizationAsk | None = None


# The REST shapes: a reference is the row alone; an entity names its references.
INSTITUTION_REF = InstitutionAsk()
ORGANIZATION_REF = OrganizationAsk()
INSTITUTION_OUT = InstitutionAsk(parent=INSTITUTION_REF)
ORGANIZATION_OUT = OrganizationAsk(parent=ORGANIZATION_REF)
MEMBERSHIP_OUT = MembershipAsk(
    member=INSTITUTION_REF, coordinator=INSTITUTION_REF, event_organizations=ORGANIZATION_REF
)
ORGANIZATION_DETAIL = OrganizationAsk(parent=ORGANIZATION_REF, memberships=MEMBERSHIP_OUT)


# --- what a read returns -------------------------------------------------------------------------------------
# Plain objects: a row's columns as attributes (the fields in the order of repository.*_COLUMNS, so a row
# unpacks into them: attribute access on SQLAlchemy's Row costs ten times a slot's), then the related
# objects the ask named, filled by the read.


@dataclass(slots=True, eq=False)
class InstitutionData:
    id: uuid.UUID
    code: str
    name: dict
    aliases: list[str]
    kind: str
    country: str
    parent_id: uuid.UUID | None
    notes: list
    sources: list[str]
    updated_at: dt.datetime
    provenance: dict
    parent: "InstitutionData | None" = None


@dataclass(slots=True, eq=False)
class OrganizationData:
    id: uuid.UUID
    acronym: str | None
    name: dict
    aliases: list[str]
    kind: str
    parent_id: uuid.UUID | None
    established: str | None
    sources: list[str]
    updated_at: dt.datetime
    sort_key: str
    provenance: dict
    parent: "OrganizationData | None" = None
    memberships: "list[MembershipData]" = field(default_factory=list)


@dataclass(slots=True, eq=False)
class EventData:
    date: str
    kind: str
    organization_id: uuid.UUID | None
    organization: OrganizationData | None = None


@dataclass(slots=True, eq=False)
class MembershipData:
    id: uuid.UUID
    organization_id: uuid.UUID
    member_id: uuid.UUID
    relation: str
    since: str | None
    until: str | None
    coordinator_id: uuid.UUID | None
    financial_obligation: bool | None
    events: list[EventData]  # the stored events, read into EventData by `of`
    note: dict | None
    sources: list[str]
    updated_at: dt.datetime
    provenance: dict
    member: InstitutionData | None = None
    coordinator: InstitutionData | None = None

    @classmethod
    def of(cls, row: Row) -> "MembershipData":
        data = cls(*row)
        data.events = [EventData(e["date"], e["kind"], _uuid_or_none(e.get("organization_id"))) for e in row.events]
        return data


@dataclass(slots=True, eq=False)
class EngagementData:
    id: uuid.UUID
    start_date: str
    end_date: str | None
    title: dict
    place: dict
    country: str
    participants: list[dict]
    institution_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    sources: list[str]
    updated_at: dt.datetime
    institution: InstitutionData | None = None
    organization: OrganizationData | None = None


@dataclass(slots=True, eq=False)
class RepresentationData:
    id: uuid.UUID
    country: str
    city: dict
    city_country: str
    source_text: str
    coordinator_id: uuid.UUID | None
    position: int
    sources: list[str]
    updated_at: dt.datetime
    organizations: list[OrganizationData] = field(default_factory=list)
    coordinator: InstitutionData | None = None


@dataclass(slots=True)
class ReadPage(Generic[T]):
    """A window's items in the listing's order, whether more lie beyond either end, and each item's cursor."""

    items: list[T]
    has_next: bool
    has_previous: bool
    cursor_of: Callable[[T], str]
    total_count: int | None = None  # only when asked: it costs a count over every match

    @property
    def next_cursor(self) -> str | None:
        return self.cursor_of(self.items[-1]) if self.has_next else None


# Each listing's cursor: the item's key in its repository order (`repository.*_ORDER`).
def organization_cursor(item: OrganizationData) -> str:
    return encode_cursor([item.sort_key, str(item.id)])


def institution_cursor(item: InstitutionData) -> str:
    return encode_cursor([item.country, item.code])


def engagement_cursor(item: EngagementData) -> str:
    return encode_cursor([item.start_date, str(item.id)])


def representation_cursor(item: RepresentationData) -> str:
    return encode_cursor([item.position, str(item.id)])


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def _upper(country: str | None) -> str | None:
    return country.upper() if country else None


class RegistryRead:
    """One request's reads: rows fetched once per id, whichever part of the answer names them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._organizations: dict[uuid.UUID, Row] = {}
        self._institutions: dict[uuid.UUID, Row] = {}

    # -- organisations

    async def organization_page(
        self, query: OrganizationQuery, window: Window, ask: OrganizationAsk, *, with_total: bool = False
    ) -> ReadPage[OrganizationData]:
        part = Slice.of(await repository.list_organizations(self.session, query, window), window)
        items = [OrganizationData(*row) for row in part.rows]
        self._organizations.update((row.id, row) for row in part.rows)
        await self._fill_organizations(items, ask)
        total = await repository.count_organizations(self.session, query) if with_total else None
        return ReadPage(items, part.has_next, part.has_previous, organization_cursor, total)

    async def organizations(self, ids: Sequence[uuid.UUID], ask: OrganizationAsk) -> list[OrganizationData]:
        """The organisations of these ids that exist, in the order given."""
        rows = await self._organization_rows(ids)
        items = [OrganizationData(*rows[i]) for i in ids if i in rows]
        await self._fill_organizations(items, ask)
        return items

    async def organization(self, organization_id: uuid.UUID, ask: OrganizationAsk) -> OrganizationData:
        found = await self.organizations([organization_id], ask)
        if not found:
            raise NotFound("organization", str(organization_id))
        return found[0]

    async def organization_id(self, id_or_acronym: str) -> uuid.UUID | None:
        """An organisation given by id (REST's, or its GraphQL node's) or by acronym, as clients write any (an id
        is not checked here)."""
        if (organization_id := named_row_id(id_or_acronym, "Organization")) is not None:
            return organization_id
        return await self.organization_id_of_acronym(id_or_acronym)

    async def organization_id_of_acronym(self, acronym: str) -> uuid.UUID | None:
        return await repository.organization_id_by_acronym(self.session, acronym)

    async def _organization_rows(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Row]:
        missing = {i for i in ids if i not in self._organizations}
        if missing:
            self._organizations.update(await repository.organizations_by_ids(self.session, missing))
        return self._organizations

    async def _fill_organizations(self, items: list[OrganizationData], ask: OrganizationAsk) -> None:
        """One level down from these organisations: their memberships, then the next level."""
        if not items:
            return
        memberships: list[MembershipData] = []
        if ask.memberships is not None:
            grouped = await repository.memberships_by_organization(self.session, [item.id for item in items])
            for item in items:
                item.memberships = [MembershipData.of(row) for row in grouped.get(item.id, ())]
                memberships += item.memberships
        await self._fill_level(items if ask.parent else [], ask.parent, memberships, ask.memberships or MembershipAsk())

    async def _fill_level(
        self,
        children: list[OrganizationData],
        parent_ask: OrganizationAsk | None,
        memberships: list[MembershipData],
        ask: MembershipAsk,
    ) -> None:
        """Every organisation a level names (the children's parents, the memberships' events') in one
        statement, every institution (members, coordinators) in another, then the level below those."""
        events = [e for m in memberships for e in m.events if e.organization_id] if ask.event_organizations else []
        ids = [child.parent_id for child in children if child.parent_id]
        organizations = await self._organization_rows(ids + [event.organization_id for event in events])
        parents = []
        for child in children:
            if child.parent_id in organizations:
                child.parent = OrganizationData(*organizations[child.parent_id])
                parents.append(child.parent)
        others = []
        for event in events:
            if event.organization_id in organizations:
                event.organization = OrganizationData(*organizations[event.organization_id])
                others.append(event.organization)
        await self._fill_membership_institutions(memberships, ask)
        if parent_ask is not None:
            await self._fill_organizations(parents, parent_ask)
        if ask.event_organizations is not None:
            await self._fill_organizations(others, ask.event_organizations)

    async def _fill_membership_institutions(self, memberships: list[MembershipData], ask: MembershipAsk) -> None:
        ids = [m.member_id for m in memberships] if ask.member else []
        if ask.coordinator:
            ids += [m.coordinator_id for m in memberships if m.coordinator_id]
        institutions = await self._institution_rows(ids)
        if ask.member is not None:
            members = [InstitutionData(*institutions[m.member_id]) for m in memberships]
            for membership, member in zip(memberships, members, strict=True):
                membership.member = member
            await self._fill_institutions(members, ask.member)
        if ask.coordinator is not None:
            coordinators = []
            for membership in memberships:
                if membership.coordinator_id in institutions:
                    membership.coordinator = InstitutionData(*institutions[membership.coordinator_id])
                    coordinators.append(membership.coordinator)
            await self._fill_institutions(coordinators, ask.coordinator)

    # -- memberships

    async def membership(self, membership_id: uuid.UUID, ask: MembershipAsk) -> MembershipData:
        rows = await repository.memberships_by_ids(self.session, [membership_id])
        if membership_id not in rows:
            raise NotFound("membership", str(membership_id))
        return (await self.memberships_of_rows([rows[membership_id]], ask))[0]

    async def memberships(self, ids: Sequence[uuid.UUID], ask: MembershipAsk) -> list[MembershipData]:
        rows = await repository.memberships_by_ids(self.session, ids)
        return await self.memberships_of_rows([rows[i] for i in ids if i in rows], ask)

    async def memberships_of_rows(self, rows: Sequence[Row], ask: MembershipAsk) -> list[MembershipData]:
        memberships = [MembershipData.of(row) for row in rows]
        await self._fill_level([], None, memberships, ask)
        return memberships

    # -- institutions

    async def _institution_rows(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Row]:
        missing = {i for i in ids if i not in self._institutions}
        if missing:
            self._institutions.update(await repository.institutions_by_ids(self.session, missing))
        return self._institutions

    async def _fill_institutions(self, items: list[InstitutionData], ask: InstitutionAsk) -> None:
        if not items or ask.parent is None:
            return
        await self._link_institutions(items, "parent", ask.parent)

    async def institution_list(self, country: str | None, ask: InstitutionAsk) -> list[InstitutionData]:
        """Every institution (of a country), in listing order: a short list, read whole."""
        return await self._institutions_of_rows(await repository.list_institutions(self.session, _upper(country)), ask)

    async def institution_page(
        self, country: str | None, window: Window, ask: InstitutionAsk, *, with_total: bool = False
    ) -> ReadPage[InstitutionData]:
        part = Slice.of(await repository.list_institutions(self.session, _upper(country), window), window)
        items = await self._institutions_of_rows(part.rows, ask)
        total = await repository.count_institutions(self.session, _upper(country)) if with_total else None
        return ReadPage(items, part.has_next, part.has_previous, institution_cursor, total)

    async def _institutions_of_rows(self, rows: Sequence[Row], ask: InstitutionAsk) -> list[InstitutionData]:
        self._institutions.update((row.id, row) for row in rows)
        items = [InstitutionData(*row) for row in rows]
        await self._fill_institutions(items, ask)
        return items

    async def institution_by_code(self, code: str, ask: InstitutionAsk) -> InstitutionData | None:
        row = await repository.get_institution_by_code(self.session, code)
        if row is None:
            return None
        self._institutions[row.id] = row
        item = InstitutionData(*row)
        await self._fill_institutions([item], ask)
        return item

    async def institutions(self, ids: Sequence[uuid.UUID], ask: InstitutionAsk) -> list[InstitutionData]:
        rows = await self._institution_rows(ids)
        items = [InstitutionData(*rows[i]) for i in ids if i in rows]
        await self._fill_institutions(items, ask)
        return items

    # -- engagements and representations

    async def engagement_page(
        self,
        *,
        year: int | None,
        organization_id: uuid.UUID | None,
        window: Window,
        institution: InstitutionAsk | None,
        organization: OrganizationAsk | None,
        with_total: bool = False,
    ) -> ReadPage[EngagementData]:
        rows = await repository.list_engagements(
            self.session, year=year, organization_id=organization_id, window=window
        )
        part = Slice.of(rows, window)
        items = [EngagementData(*row) for row in part.rows]
        await self._fill_engagements(items, institution, organization)
        total = (
            await repository.count_engagements(self.session, year=year, organization_id=organization_id)
            if with_total
            else None
        )
        return ReadPage(items, part.has_next, part.has_previous, engagement_cursor, total)

    async def engagements(
        self, ids: Sequence[uuid.UUID], institution: InstitutionAsk | None, organization: OrganizationAsk | None
    ) -> list[EngagementData]:
        """The engagements of these ids that exist, in the order given."""
        rows = await repository.engagements_by_ids(self.session, ids)
        items = [EngagementData(*rows[i]) for i in ids if i in rows]
        await self._fill_engagements(items, institution, organization)
        return items

    async def _fill_engagements(
        self, items: list[EngagementData], institution: InstitutionAsk | None, organization: OrganizationAsk | None
    ) -> None:
        if institution is not None:
            await self._link_institutions(items, "institution", institution)
        if organization is not None:
            await self._link_organizations(items, "organization", organization)

    async def _link_institutions(self, items: Sequence[Any], link: str, ask: InstitutionAsk) -> None:
        """Set each item's `link` to the institution its `<link>_id` names (one statement for all), filled as
        `ask` asks; an item whose id is null keeps None."""
        key = f"{link}_id"
        rows = await self._institution_rows(getattr(item, key) for item in items if getattr(item, key))
        linked = []
        for item in items:
            if (row := rows.get(getattr(item, key))) is not None:
                setattr(item, link, InstitutionData(*row))
                linked.append(getattr(item, link))
        await self._fill_institutions(linked, ask)

    async def _link_organizations(self, items: Sequence[Any], link: str, ask: OrganizationAsk) -> None:
        """The same for organisations."""
        key = f"{link}_id"
        rows = await self._organization_rows(getattr(item, key) for item in items if getattr(item, key))
        linked = []
        for item in items:
            if (row := rows.get(getattr(item, key))) is not None:
                setattr(item, link, OrganizationData(*row))
                linked.append(getattr(item, link))
        await self._fill_organizations(linked, ask)

    async def representation_page(
        self,
        *,
        organization_id: uuid.UUID | None,
        window: Window,
        organizations: OrganizationAsk | None,
        coordinator: InstitutionAsk | None,
        with_total: bool = False,
    ) -> ReadPage[RepresentationData]:
        part = Slice.of(
            await repository.list_representations(self.session, organization_id=organization_id, window=window), window
        )
        items = [RepresentationData(*row) for row in part.rows]
        await self._fill_representations(items, organizations, coordinator)
        total = (
            await repository.count_representations(self.session, organization_id=organization_id)
            if with_total
            else None
        )
        return ReadPage(items, part.has_next, part.has_previous, representation_cursor, total)

    async def representations(
        self, ids: Sequence[uuid.UUID], organizations: OrganizationAsk | None, coordinator: InstitutionAsk | None
    ) -> list[RepresentationData]:
        """The representations of these ids that exist, in the order given."""
        rows = await repository.representations_by_ids(self.session, ids)
        items = [RepresentationData(*rows[i]) for i in ids if i in rows]
        await self._fill_representations(items, organizations, coordinator)
        return items

    async def _fill_representations(
        self, items: list[RepresentationData], organizations: OrganizationAsk | None, coordinator: InstitutionAsk | None
    ) -> None:
        if organizations is not None:
            ids = await repository.organization_ids_by_representation(self.session, [i.id for i in items])
            rows_by_id = await self._organization_rows(i for linked in ids.values() for i in linked)
            others = []
            for item in items:
                item.organizations = [OrganizationData(*rows_by_id[i]) for i in ids.get(item.id, ())]
                others += item.organizations
            await self._fill_organizations(others, organizations)
        if coordinator is not None:
            await self._link_institutions(items, "coordinator", coordinator)


def export_rows(session: AsyncSession, updated_since: dt.datetime | None = None) -> AsyncIterator[tuple]:
    """Every organisation joined with each of its memberships (or none), in listing order, streamed; with
    `updated_since`, the organisations changed then or later, or whose memberships were."""
    return repository.stream_registry_rows(session, updated_since)


async def organization_batches(
    session: AsyncSession, query: OrganizationQuery, ask: OrganizationAsk, size: int = 500
) -> AsyncIterator[list[OrganizationData]]:
    """Every organisation the query matches, in listing order, `size` at a time (each batch a read of its own, so
    memory stays flat however long the registry grows)."""
    cursor = None
    while True:
        page = await RegistryRead(session).organization_page(query, Window(size, cursor), ask)
        yield page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


REGISTRY_ENTITIES = ("institution", "organization", "membership")


async def registry_version(session: AsyncSession) -> tuple[int, int]:
    """Changes whenever an institution, an organisation or a membership is created, changed or deleted."""
    return await journal.change_mark(session, REGISTRY_ENTITIES)


# Institutions by id, for rows of other domains that name them: the batch of the request's one DataLoader of
# institutions (the very function other domains' loaders batch with, so that they share it).
institution_rows = repository.institutions_by_ids
