"""Every SQL statement of the registry domain."""

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, any_, exists, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.core.db import rows_by_id, rows_by_parent
from service.registry.models import (
    Engagement,
    Institution,
    Membership,
    Organization,
    Representation,
    RepresentationOrganization,
)


@dataclass(frozen=True)
class OrganizationQuery:
    """Filters of an organisation listing, already resolved to column values."""

    folded_text: str | None = None
    coordinator_code: str | None = None
    member_country: str | None = None
    financial_obligation: bool | None = None
    updated_since: dt.datetime | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered_organizations(query: OrganizationQuery) -> Select:
    stmt = select(Organization)
    if query.folded_text:
        stmt = stmt.where(Organization.search_text.like(f"%{_escape_like(query.folded_text)}%", escape="\\"))
    if query.coordinator_code is not None:
        coordinator = aliased(Institution)
        stmt = stmt.where(
            exists()
            .where(Membership.organization_id == Organization.id)
            .where(Membership.coordinator_id == coordinator.id)
            .where(or_(coordinator.code == query.coordinator_code, query.coordinator_code == any_(coordinator.aliases)))
        )
    if query.member_country is not None:
        stmt = stmt.where(
            exists()
            .where(Membership.organization_id == Organization.id)
            .where(Membership.member_id == Institution.id)
            .where(Institution.country == query.member_country)
        )
    if query.financial_obligation is not None:
        obliged = (
            exists()
            .where(Membership.organization_id == Organization.id)
            .where(Membership.financial_obligation.is_(True))
        )
        stmt = stmt.where(obliged if query.financial_obligation else ~obliged)
    if query.updated_since is not None:
        stmt = stmt.where(
            or_(
                Organization.updated_at >= query.updated_since,
                exists()
                .where(Membership.organization_id == Organization.id)
                .where(Membership.updated_at >= query.updated_since),
            )
        )
    return stmt


async def list_organizations(
    session: AsyncSession, query: OrganizationQuery, limit: int, after: tuple[str, uuid.UUID] | None
) -> Sequence[Organization]:
    """One keyset page in (sort_key, id) order; `limit + 1` rows tell whether a next page exists."""
    stmt = _filtered_organizations(query)
    if after is not None:
        stmt = stmt.where(tuple_(Organization.sort_key, Organization.id) > after)
    stmt = stmt.order_by(Organization.sort_key, Organization.id).limit(limit + 1)
    return (await session.scalars(stmt)).all()


async def count_organizations(session: AsyncSession, query: OrganizationQuery) -> int:
    stmt = select(func.count()).select_from(_filtered_organizations(query).subquery())
    return (await session.execute(stmt)).scalar_one()


async def get_organization(session: AsyncSession, organization_id: uuid.UUID) -> Organization | None:
    return await session.get(Organization, organization_id)


async def get_organization_by_acronym(session: AsyncSession, acronym: str) -> Organization | None:
    return (await session.scalars(select(Organization).where(Organization.acronym == acronym))).first()


async def organizations_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Organization]:
    return await rows_by_id(session, Organization, ids)


async def get_membership(session: AsyncSession, membership_id: uuid.UUID) -> Membership | None:
    return await session.get(Membership, membership_id)


async def memberships_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Membership]:
    return await rows_by_id(session, Membership, ids)


async def memberships_by_organization(
    session: AsyncSession, organization_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Membership]]:
    order = (Membership.relation, Membership.since.nulls_last(), Membership.id)
    return await rows_by_parent(session, Membership, "organization_id", organization_ids, order)


async def lock_memberships_of(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[Membership]:
    """The organisation's memberships, locked: one deleted meanwhile is left out rather than deleted twice."""
    stmt = select(Membership).where(Membership.organization_id == organization_id).order_by(Membership.id)
    return (await session.scalars(stmt.with_for_update().execution_options(populate_existing=True))).all()


async def list_institutions(session: AsyncSession, country: str | None = None) -> Sequence[Institution]:
    stmt = select(Institution).order_by(Institution.country.desc(), Institution.code)
    if country is not None:
        stmt = stmt.where(Institution.country == country)
    return (await session.scalars(stmt)).all()


async def get_institution_by_code(session: AsyncSession, code: str) -> Institution | None:
    stmt = select(Institution).where(or_(Institution.code == code, code == any_(Institution.aliases)))
    return (await session.scalars(stmt)).first()


async def institutions_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Institution]:
    return await rows_by_id(session, Institution, ids)


async def list_engagements(
    session: AsyncSession,
    *,
    year: int | None,
    organization_id: uuid.UUID | None,
    limit: int,
    after: tuple[str, uuid.UUID] | None,
) -> Sequence[Engagement]:
    stmt = select(Engagement)
    if year is not None:
        stmt = stmt.where(Engagement.start_date.startswith(f"{year:04d}"))
    if organization_id is not None:
        stmt = stmt.where(Engagement.organization_id == organization_id)
    if after is not None:
        stmt = stmt.where(tuple_(Engagement.start_date, Engagement.id) > after)
    stmt = stmt.order_by(Engagement.start_date, Engagement.id).limit(limit + 1)
    return (await session.scalars(stmt)).all()


async def list_representations(
    session: AsyncSession, *, organization_id: uuid.UUID | None, limit: int, after: tuple[int, uuid.UUID] | None
) -> Sequence[Representation]:
    stmt = select(Representation)
    if organization_id is not None:
        stmt = stmt.where(
            exists()
            .where(RepresentationOrganization.representation_id == Representation.id)
            .where(RepresentationOrganization.organization_id == organization_id)
        )
    if after is not None:
        stmt = stmt.where(tuple_(Representation.position, Representation.id) > after)
    stmt = stmt.order_by(Representation.position, Representation.id).limit(limit + 1)
    return (await session.scalars(stmt)).all()


async def organization_ids_by_representation(
    session: AsyncSession, representation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    grouped: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if representation_ids:
        stmt = (
            select(RepresentationOrganization.representation_id, RepresentationOrganization.organization_id)
            .where(RepresentationOrganization.representation_id.in_(set(representation_ids)))
            .order_by(RepresentationOrganization.representation_id, RepresentationOrganization.position)
        )
        for representation_id, organization_id in await session.execute(stmt):
            grouped[representation_id].append(organization_id)
    return grouped


async def stream_registry_rows(session: AsyncSession) -> AsyncIterator[tuple]:
    """Every organisation joined with each of its memberships (or none), in listing order."""
    parent = aliased(Organization)
    member = aliased(Institution)
    coordinator = aliased(Institution)
    stmt = (
        select(
            Organization.id,
            Organization.acronym,
            Organization.name,
            Organization.kind,
            parent.acronym,
            member.code,
            member.country,
            Membership.relation,
            Membership.since,
            Membership.until,
            coordinator.code,
            Membership.financial_obligation,
            Membership.events,
            Membership.sources,
        )
        .outerjoin(parent, parent.id == Organization.parent_id)
        .outerjoin(Membership, Membership.organization_id == Organization.id)
        .outerjoin(member, member.id == Membership.member_id)
        .outerjoin(coordinator, coordinator.id == Membership.coordinator_id)
        .order_by(Organization.sort_key, Organization.id, Membership.relation, Membership.id)
        .execution_options(yield_per=500)
    )
    result = await session.stream(stmt)
    async for row in result:
        yield tuple(row)
