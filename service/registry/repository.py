"""Every SQL statement of the registry domain."""

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Row, Select, any_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.core.db import ids_parameter
from service.core.pagination import KeysetOrder, Window
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


# Reads select table columns, not ORM entities: rows come back as tuples, without an identity map or
# instrumented objects to build (the cost of a page was mostly that). Writes lock and change ORM rows.
_organization = Organization.__table__.c
_membership = Membership.__table__.c
_institution = Institution.__table__.c
_engagement = Engagement.__table__.c
_representation = Representation.__table__.c
_representation_organization = RepresentationOrganization.__table__.c

ORGANIZATION_COLUMNS = (
    _organization.id, _organization.acronym, _organization.name, _organization.aliases, _organization.kind,
    _organization.parent_id, _organization.established, _organization.sources, _organization.updated_at,
    _organization.sort_key, _organization.provenance,
)  # fmt: skip
MEMBERSHIP_COLUMNS = (
    _membership.id, _membership.organization_id, _membership.member_id, _membership.relation, _membership.since,
    _membership.until, _membership.coordinator_id, _membership.financial_obligation, _membership.events,
    _membership.note, _membership.sources, _membership.updated_at, _membership.provenance,
)  # fmt: skip
INSTITUTION_COLUMNS = (
    _institution.id, _institution.code, _institution.name, _institution.aliases, _institution.kind,
    _institution.country, _institution.parent_id, _institution.notes, _institution.sources, _institution.updated_at,
    _institution.provenance,
)  # fmt: skip
ENGAGEMENT_COLUMNS = (
    _engagement.id, _engagement.start_date, _engagement.end_date, _engagement.title, _engagement.place,
    _engagement.country, _engagement.participants, _engagement.institution_id, _engagement.organization_id,
    _engagement.sources, _engagement.updated_at,
)  # fmt: skip
REPRESENTATION_COLUMNS = (
    _representation.id, _representation.country, _representation.city, _representation.city_country,
    _representation.source_text, _representation.coordinator_id, _representation.position, _representation.sources,
    _representation.updated_at,
)  # fmt: skip


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered_organizations(query: OrganizationQuery, columns: Sequence) -> Select:
    stmt = select(*columns)
    if query.folded_text:
        stmt = stmt.where(_organization.search_text.like(f"%{_escape_like(query.folded_text)}%", escape="\\"))
    memberships_of_row = exists().where(_membership.organization_id == _organization.id)
    if query.coordinator_code is not None:
        coordinator = Institution.__table__.alias("coordinator").c
        stmt = stmt.where(
            memberships_of_row.where(_membership.coordinator_id == coordinator.id).where(
                or_(coordinator.code == query.coordinator_code, query.coordinator_code == any_(coordinator.aliases))
            )
        )
    if query.member_country is not None:
        stmt = stmt.where(
            memberships_of_row.where(_membership.member_id == _institution.id).where(
                _institution.country == query.member_country
            )
        )
    if query.financial_obligation is not None:
        obliged = memberships_of_row.where(_membership.financial_obligation.is_(True))
        stmt = stmt.where(obliged if query.financial_obligation else ~obliged)
    if query.updated_since is not None:
        stmt = stmt.where(_changed_since(query.updated_since))
    return stmt


def _changed_since(since: dt.datetime):
    """An organisation changed at or after `since`, or one of its memberships."""
    membership = Membership.__table__.alias("changed_membership")  # apart from a membership the statement joins
    changed = exists().where(membership.c.organization_id == _organization.id, membership.c.updated_at >= since)
    return or_(_organization.updated_at >= since, changed)


ORGANIZATION_ORDER = KeysetOrder(((_organization.sort_key, False), (_organization.id, False)), (str, uuid.UUID))


async def list_organizations(session: AsyncSession, query: OrganizationQuery, window: Window) -> Sequence[Row]:
    """One keyset window in (sort_key, id) order (`ORGANIZATION_ORDER.select`: one row beyond it)."""
    stmt = ORGANIZATION_ORDER.select(_filtered_organizations(query, ORGANIZATION_COLUMNS), window)
    return (await session.execute(stmt)).all()


async def count_organizations(session: AsyncSession, query: OrganizationQuery) -> int:
    stmt = select(func.count()).select_from(_filtered_organizations(query, [_organization.id]).subquery())
    return (await session.execute(stmt)).scalar_one()


def _by_ids(columns: Sequence) -> Select:
    """Rows of many ids, built once (`core.db.ids_parameter`: one statement text for any number of ids)."""
    return select(*columns).where(columns[0] == any_(ids_parameter()))


_ORGANIZATIONS_BY_IDS = _by_ids(ORGANIZATION_COLUMNS)
_MEMBERSHIPS_BY_IDS = _by_ids(MEMBERSHIP_COLUMNS)
_INSTITUTIONS_BY_IDS = _by_ids(INSTITUTION_COLUMNS)
_ENGAGEMENTS_BY_IDS = _by_ids(ENGAGEMENT_COLUMNS)
_REPRESENTATIONS_BY_IDS = _by_ids(REPRESENTATION_COLUMNS)
_MEMBERSHIPS_BY_ORGANIZATIONS = (
    select(*MEMBERSHIP_COLUMNS)
    .where(_membership.organization_id == any_(ids_parameter()))
    .order_by(_membership.organization_id, _membership.relation, _membership.since.nulls_last(), _membership.id)
)


async def _by_id(session: AsyncSession, statement: Select, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Row]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {row.id: row for row in await session.execute(statement, {"ids": wanted})}


async def organizations_by_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Row]:
    return await _by_id(session, _ORGANIZATIONS_BY_IDS, ids)


async def organization_id_by_acronym(session: AsyncSession, acronym: str) -> uuid.UUID | None:
    return (await session.execute(select(_organization.id).where(_organization.acronym == acronym))).scalar()


async def get_organization(session: AsyncSession, organization_id: uuid.UUID) -> Organization | None:
    return await session.get(Organization, organization_id)


async def memberships_by_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Row]:
    return await _by_id(session, _MEMBERSHIPS_BY_IDS, ids)


async def memberships_by_organization(
    session: AsyncSession, organization_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[Row]]:
    grouped: dict[uuid.UUID, list[Row]] = defaultdict(list)
    wanted = list(set(organization_ids))
    if wanted:
        for row in await session.execute(_MEMBERSHIPS_BY_ORGANIZATIONS, {"ids": wanted}):
            grouped[row.organization_id].append(row)
    return grouped


async def lock_memberships_of(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[Membership]:
    """The organisation's memberships, locked: one deleted meanwhile is left out rather than deleted twice."""
    stmt = select(Membership).where(Membership.organization_id == organization_id).order_by(Membership.id)
    return (await session.scalars(stmt.with_for_update().execution_options(populate_existing=True))).all()


INSTITUTION_ORDER = KeysetOrder(((_institution.country, True), (_institution.code, False)), (str, str))


def _institutions_of(country: str | None, columns: Sequence) -> Select:
    stmt = select(*columns)
    return stmt.where(_institution.country == country) if country is not None else stmt


async def list_institutions(session: AsyncSession, country: str | None, window: Window | None = None) -> Sequence[Row]:
    """In (country descending, code) order (codes are unique): one keyset window, one row beyond it
    (`INSTITUTION_ORDER.select`), or without a window all of them (REST's list, which does not page)."""
    stmt = _institutions_of(country, INSTITUTION_COLUMNS)
    if window is None:
        stmt = stmt.order_by(*(column.desc() if down else column for column, down in INSTITUTION_ORDER.columns))
    else:
        stmt = INSTITUTION_ORDER.select(stmt, window)
    return (await session.execute(stmt)).all()


async def count_institutions(session: AsyncSession, country: str | None) -> int:
    stmt = select(func.count()).select_from(_institutions_of(country, [_institution.id]).subquery())
    return (await session.execute(stmt)).scalar_one()


async def get_institution_by_code(session: AsyncSession, code: str) -> Row | None:
    stmt = select(*INSTITUTION_COLUMNS).where(or_(_institution.code == code, code == any_(_institution.aliases)))
    return (await session.execute(stmt)).first()


async def institutions_by_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Row]:
    return await _by_id(session, _INSTITUTIONS_BY_IDS, ids)


ENGAGEMENT_ORDER = KeysetOrder(((_engagement.start_date, False), (_engagement.id, False)), (str, uuid.UUID))
REPRESENTATION_ORDER = KeysetOrder(((_representation.position, False), (_representation.id, False)), (int, uuid.UUID))


def _filtered_engagements(year: int | None, organization_id: uuid.UUID | None, columns: Sequence) -> Select:
    stmt = select(*columns)
    if year is not None:
        stmt = stmt.where(_engagement.start_date.startswith(f"{year:04d}"))
    if organization_id is not None:
        stmt = stmt.where(_engagement.organization_id == organization_id)
    return stmt


async def list_engagements(
    session: AsyncSession, *, year: int | None, organization_id: uuid.UUID | None, window: Window
) -> Sequence[Row]:
    """One keyset window in (start_date, id) order, one row beyond it (`ENGAGEMENT_ORDER.select`)."""
    stmt = ENGAGEMENT_ORDER.select(_filtered_engagements(year, organization_id, ENGAGEMENT_COLUMNS), window)
    return (await session.execute(stmt)).all()


async def count_engagements(session: AsyncSession, *, year: int | None, organization_id: uuid.UUID | None) -> int:
    stmt = select(func.count()).select_from(_filtered_engagements(year, organization_id, [_engagement.id]).subquery())
    return (await session.execute(stmt)).scalar_one()


def _filtered_representations(organization_id: uuid.UUID | None, columns: Sequence) -> Select:
    stmt = select(*columns)
    if organization_id is not None:
        stmt = stmt.where(
            exists()
            .where(_representation_organization.representation_id == _representation.id)
            .where(_representation_organization.organization_id == organization_id)
        )
    return stmt


async def list_representations(
    session: AsyncSession, *, organization_id: uuid.UUID | None, window: Window
) -> Sequence[Row]:
    """One keyset window in the source's order (position, id), one row beyond it (`REPRESENTATION_ORDER.select`)."""
    stmt = REPRESENTATION_ORDER.select(_filtered_representations(organization_id, REPRESENTATION_COLUMNS), window)
    return (await session.execute(stmt)).all()


async def count_representations(session: AsyncSession, *, organization_id: uuid.UUID | None) -> int:
    stmt = select(func.count()).select_from(_filtered_representations(organization_id, [_representation.id]).subquery())
    return (await session.execute(stmt)).scalar_one()


async def engagements_by_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Row]:
    return await _by_id(session, _ENGAGEMENTS_BY_IDS, ids)


async def representations_by_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Row]:
    return await _by_id(session, _REPRESENTATIONS_BY_IDS, ids)


async def organization_ids_by_representation(
    session: AsyncSession, representation_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    grouped: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    wanted = set(representation_ids)
    if wanted:
        stmt = (
            select(_representation_organization.representation_id, _representation_organization.organization_id)
            .where(_representation_organization.representation_id.in_(wanted))
            .order_by(_representation_organization.representation_id, _representation_organization.position)
        )
        for representation_id, organization_id in await session.execute(stmt):
            grouped[representation_id].append(organization_id)
    return grouped


async def stream_registry_rows(session: AsyncSession, updated_since: dt.datetime | None) -> AsyncIterator[tuple]:
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
            Organization.provenance,
            Membership.provenance,
            Organization.established,
        )
        .outerjoin(parent, parent.id == Organization.parent_id)
        .outerjoin(Membership, Membership.organization_id == Organization.id)
        .outerjoin(member, member.id == Membership.member_id)
        .outerjoin(coordinator, coordinator.id == Membership.coordinator_id)
        .order_by(Organization.sort_key, Organization.id, Membership.relation, Membership.id)
        .execution_options(yield_per=500)
    )
    if updated_since is not None:
        stmt = stmt.where(_changed_since(updated_since))
    result = await session.stream(stmt)
    async for row in result:
        yield tuple(row)
