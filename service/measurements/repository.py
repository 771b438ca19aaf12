"""Every SQL statement of the measurements domain."""

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.db import rows_by_parent
from service.measurements.models import Assessment, Measurement, Status


def _slot(indicator_id: uuid.UUID, year: int, institution_id: uuid.UUID | None):
    return (
        Measurement.indicator_id == indicator_id,
        Measurement.year == year,
        Measurement.institution_id.is_(None)
        if institution_id is None
        else Measurement.institution_id == institution_id,
    )


async def lock_slot(
    session: AsyncSession, indicator_id: uuid.UUID, year: int, institution_id: uuid.UUID | None
) -> None:
    """Serialise writers of one indicator, year and institution until the transaction ends.

    A row lock would not do: a writer that waited on it would still read the revision it locked,
    not the one committed meanwhile. After this lock, the next statement sees every committed revision.
    """
    key = f"measurement:{indicator_id}:{year}:{institution_id or '-'}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


async def current_revision(
    session: AsyncSession, indicator_id: uuid.UUID, year: int, institution_id: uuid.UUID | None
) -> Measurement | None:
    stmt = (
        select(Measurement)
        .where(*_slot(indicator_id, year, institution_id))
        .order_by(Measurement.revision.desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def revisions(
    session: AsyncSession, indicator_id: uuid.UUID, year: int, institution_id: uuid.UUID | None
) -> Sequence[Measurement]:
    stmt = select(Measurement).where(*_slot(indicator_id, year, institution_id)).order_by(Measurement.revision)
    return (await session.scalars(stmt)).all()


async def _latest(
    session: AsyncSession, indicator_ids: Sequence[uuid.UUID], approved_only: bool
) -> dict[uuid.UUID, list[Measurement]]:
    grouped: dict[uuid.UUID, list[Measurement]] = defaultdict(list)
    if not indicator_ids:
        return grouped
    stmt = (
        select(Measurement)
        .where(Measurement.indicator_id.in_(set(indicator_ids)))
        .ext(distinct_on(Measurement.indicator_id, Measurement.year, Measurement.institution_id))
        .order_by(Measurement.indicator_id, Measurement.year, Measurement.institution_id, Measurement.revision.desc())
    )
    if approved_only:
        stmt = stmt.where(Measurement.status == Status.approved)
    for row in await session.scalars(stmt):
        grouped[row.indicator_id].append(row)
    return grouped


async def current_by_indicator(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Measurement]]:
    """The latest revision of every year (and institution) of each indicator."""
    return await _latest(session, ids, approved_only=False)


async def official_by_indicator(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Measurement]]:
    """The official actual of every year (and institution): the latest approved revision."""
    return await _latest(session, ids, approved_only=True)


async def assessments_by_indicator(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Assessment]]:
    return await rows_by_parent(session, Assessment, "indicator_id", ids, (Assessment.year,))
