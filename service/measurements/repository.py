"""Every SQL statement of the measurements domain."""

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import Row, and_, any_, func, select, text
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.core.db import children_of, ids_parameter, row_groups, rows_by_id, rows_by_parent
from service.core.journal import JournalEntry
from service.core.pagination import KeysetOrder, Window
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


def _columns(row: Measurement | Assessment) -> dict:
    return {column.name: getattr(row, column.name) for column in row.__table__.columns}


def as_it_stood(row: Measurement, as_of: dt.datetime | None) -> Measurement:
    """The revision as it was at `as_of`: one reviewed later was still submitted then. A review changes a revision
    once (only a submitted one is reviewed), so its posting and review times tell its whole story. The copy is
    never added to the session: nothing of it is written back."""
    if as_of is None or row.reviewed_at is None or row.reviewed_at <= as_of:
        return row
    unreviewed = {"status": Status.submitted, "review_comment": None}
    unreviewed |= dict.fromkeys(("reviewed_by", "reviewed_by_subject", "reviewed_by_name", "reviewed_at"))
    return Measurement(**(_columns(row) | unreviewed))


def _posted_by(as_of: dt.datetime | None):
    return () if as_of is None else (Measurement.posted_at <= as_of,)


REVISION_ORDER = KeysetOrder(((Measurement.revision, False),), (int,))  # a slot's history, oldest first
_corrected = aliased(Measurement)
# The text of the revision each one corrects (one less, same slot: revisions count up from 1 without gaps), so a
# page of the history that starts past the first revision still says what its first one corrected.
_PREVIOUS_TEXT = (
    select(_corrected.text)
    .where(
        _corrected.indicator_id == Measurement.indicator_id,
        _corrected.year == Measurement.year,
        _corrected.institution_id.is_not_distinct_from(Measurement.institution_id),
        _corrected.revision == Measurement.revision - 1,
    )
    .scalar_subquery()
    .label("previous_text")
)


async def revisions(
    session: AsyncSession, slot: Slot, as_of: dt.datetime | None = None, window: Window | None = None
) -> list[tuple[Measurement, str | None]]:
    """The slot's revisions posted by `as_of` (as they stood then), oldest first, each with the text of the one
    it corrects: all of them, or a window of them (`REVISION_ORDER.select`: one row beyond it)."""
    stmt = select(Measurement, _PREVIOUS_TEXT).where(*_slot(*slot), *_posted_by(as_of))
    stmt = REVISION_ORDER.select(stmt, window) if window is not None else stmt.order_by(Measurement.revision)
    return [(as_it_stood(row, as_of), previous) for row, previous in (await session.execute(stmt)).all()]


async def count_revisions(session: AsyncSession, slot: Slot, as_of: dt.datetime | None = None) -> int:
    stmt = select(func.count()).select_from(Measurement).where(*_slot(*slot), *_posted_by(as_of))
    return (await session.execute(stmt)).scalar_one()


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


async def _latest(
    session: AsyncSession, indicator_ids: Sequence[uuid.UUID], approved_only: bool, as_of: dt.datetime
) -> dict[uuid.UUID, list[Measurement]]:
    """The latest revisions as they stood at `as_of` (the read path's own statements answer for now)."""
    grouped: dict[uuid.UUID, list[Measurement]] = defaultdict(list)
    if not indicator_ids:
        return grouped
    stmt = (
        select(Measurement)
        .where(Measurement.indicator_id.in_(set(indicator_ids)), *_posted_by(as_of))
        .ext(distinct_on(Measurement.indicator_id, Measurement.year, Measurement.institution_id))
        .order_by(Measurement.indicator_id, Measurement.year, Measurement.institution_id, Measurement.revision.desc())
    )
    if approved_only:
        stmt = stmt.where(and_(Measurement.status == Status.approved, Measurement.reviewed_at <= as_of))
    for row in await session.scalars(stmt):
        grouped[row.indicator_id].append(as_it_stood(row, as_of))
    return grouped


async def current_by_indicator(
    session: AsyncSession, ids: Sequence[uuid.UUID], as_of: dt.datetime | None = None
) -> dict[uuid.UUID, list[Row | Measurement]]:
    """The latest revision of every year (and institution) of each indicator (as it stood at `as_of`)."""
    if as_of is None:
        return await row_groups(session, _CURRENT, "indicator_id", ids)
    return await _latest(session, ids, approved_only=False, as_of=as_of)


async def current_by_slot(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[Slot, Row]:
    """The latest revision of every year (and institution) of each indicator, by slot."""
    return {
        (row.indicator_id, row.year, row.institution_id): row
        for rows in (await row_groups(session, _CURRENT, "indicator_id", ids)).values()
        for row in rows
    }


async def official_by_indicator(
    session: AsyncSession, ids: Sequence[uuid.UUID], as_of: dt.datetime | None = None
) -> dict[uuid.UUID, list[Row | Measurement]]:
    """The official actual of every year (and institution): the latest approved revision (approved by `as_of`)."""
    if as_of is None:
        return await row_groups(session, _OFFICIAL, "indicator_id", ids)
    return await _latest(session, ids, approved_only=True, as_of=as_of)


async def assessments_by_indicator(
    session: AsyncSession, ids: Sequence[uuid.UUID], as_of: dt.datetime | None = None
) -> dict[uuid.UUID, list[Row | Assessment]]:
    """Each indicator's assessments; at `as_of`, as the journal says they stood then (an assessment is replaced
    in place, so the row holds only its latest status)."""
    if as_of is None:
        return await row_groups(session, _ASSESSMENTS, "indicator_id", ids)
    grouped = await rows_by_parent(session, Assessment, "indicator_id", ids, (Assessment.year,))
    later = {str(a.id): a for rows in grouped.values() for a in rows if a.set_at > as_of}
    if not later:
        return grouped
    stmt = (
        select(JournalEntry.entity_id, JournalEntry.after)
        .where(
            JournalEntry.entity == "progress_assessment", JournalEntry.entity_id.in_(later), JournalEntry.at <= as_of
        )
        .ext(distinct_on(JournalEntry.entity_id))
        .order_by(JournalEntry.entity_id, JournalEntry.id.desc())
    )
    earlier = {entity_id: after for entity_id, after in await session.execute(stmt)}
    stood: dict[uuid.UUID, list[Assessment]] = defaultdict(list)
    for indicator_id, rows in grouped.items():
        for row in rows:
            if str(row.id) not in later:
                stood[indicator_id].append(row)
            elif (after := earlier.get(str(row.id))) is not None:
                stood[indicator_id].append(Assessment(**(_columns(row) | after)))
    return stood


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
