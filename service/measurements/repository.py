"""Every SQL statement of the measurements domain."""

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import Row, any_, select, text
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.db import children_of, ids_parameter, row_groups, rows_by_id
from service.measurements.models import Assessment, Measurement, Status


def _slot(indicator_id: uuid.UUID, year: int, institution_id: uuid.UUID | None):
    return (
        Measurement.indicator_id == indicator_id,
        Measurement.year == year,
        Measurement.institution_id.is_(None)
        if institution_id is None
        else Measurement.institution_id == institution_id,
    )


Slot = tuple[uuid.UUID, int, uuid.UUID | None]
"""indicator, year, institution: what a value is posted for."""

_LOCK_IN_KEY_ORDER = text(
    "SELECT pg_advisory_xact_lock(k) FROM "
    "(SELECT DISTINCT hashtextextended(key, 0) AS k FROM unnest(CAST(:keys AS text[])) AS key ORDER BY k) AS ordered"
)


async def lock_slots(session: AsyncSession, slots: Iterable[Slot], of: str = "measurement") -> None:
    """Serialise writers of the same indicator, year and institution until the transaction ends.

    A row lock would not do: a writer that waited on it would still read the revision it locked,
    not the one committed meanwhile. After this lock, the next statement sees every committed revision.
    The locks are taken in one statement, in the order of the lock keys themselves, so two writers of
    overlapping sets of slots (two imports) queue up instead of deadlocking.
    """
    keys = [f"{of}:{indicator_id}:{year}:{institution_id or '-'}" for indicator_id, year, institution_id in slots]
    if keys:
        await session.execute(_LOCK_IN_KEY_ORDER, {"keys": keys})


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


async def revisions_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Measurement]:
    return await rows_by_id(session, Measurement, ids)


async def revisions(
    session: AsyncSession, indicator_id: uuid.UUID, year: int, institution_id: uuid.UUID | None
) -> Sequence[Measurement]:
    stmt = select(Measurement).where(*_slot(indicator_id, year, institution_id)).order_by(Measurement.revision)
    return (await session.scalars(stmt)).all()


def _latest_of(approved_only: bool):
    """The latest revision per slot of the indicators given as `ids`, as Core rows (read-only)."""
    table = Measurement.__table__
    stmt = (
        select(table)
        .where(table.c.indicator_id == any_(ids_parameter()))
        .ext(distinct_on(table.c.indicator_id, table.c.year, table.c.institution_id))
        .order_by(table.c.indicator_id, table.c.year, table.c.institution_id, table.c.revision.desc())
    )
    return stmt.where(table.c.status == Status.approved) if approved_only else stmt


_CURRENT, _OFFICIAL = _latest_of(approved_only=False), _latest_of(approved_only=True)
_ASSESSMENTS = children_of(Assessment, "indicator_id", Assessment.year)


async def current_by_indicator(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    """The latest revision of every year (and institution) of each indicator."""
    return await row_groups(session, _CURRENT, "indicator_id", ids)


async def current_by_slot(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[Slot, Row]:
    """The latest revision of every year (and institution) of each indicator, by slot."""
    return {
        (row.indicator_id, row.year, row.institution_id): row
        for rows in (await row_groups(session, _CURRENT, "indicator_id", ids)).values()
        for row in rows
    }


async def official_by_indicator(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    """The official actual of every year (and institution): the latest approved revision."""
    return await row_groups(session, _OFFICIAL, "indicator_id", ids)


async def assessments_by_indicator(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    return await row_groups(session, _ASSESSMENTS, "indicator_id", ids)


async def upsert_assessment(session: AsyncSession, values: dict) -> uuid.UUID:
    """Insert the year's assessment or replace it; concurrent writers meet in the unique key, not in a 500."""
    stmt = insert(Assessment.__table__).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["indicator_id", "year", "institution_id"],
        set_={name: stmt.excluded[name] for name in ("status", "comment", "set_by", "set_at")},
    ).returning(Assessment.__table__.c.id)
    return (await session.execute(stmt)).scalar_one()


async def assessment(
    session: AsyncSession, indicator_id: uuid.UUID, year: int, institution_id: uuid.UUID | None
) -> Assessment | None:
    institution = (
        Assessment.institution_id.is_(None) if institution_id is None else Assessment.institution_id == institution_id
    )
    stmt = select(Assessment).where(Assessment.indicator_id == indicator_id, Assessment.year == year, institution)
    return (await session.scalars(stmt)).first()
