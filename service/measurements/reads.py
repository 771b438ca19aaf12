"""The measurements' reads: actuals, revision history and progress, for REST and GraphQL, and the actuals and
progress of indicators a strategy read loaded (`add_measurements`)."""

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.errors import NotFound
from service.core.pagination import Slice, Window, encode_cursor
from service.measurements import repository
from service.measurements.models import Measurement
from service.measurements.progress import ProgressStatus, evaluate
from service.measurements.revisions import measurement_out
from service.measurements.schemas import (
    AreaProgress,
    GoalProgress,
    MeasurementOut,
    ProgressCounts,
    ProgressOut,
    ProgressSummary,
    YearActual,
)
from service.measurements.values import IndicatorContext, indicator_context, resolve_institution
from service.registry import repository as registry
from service.registry.models import Institution
from service.registry.service import institution_ref
from service.strategy import reads as strategy_reads
from service.strategy import repository as strategy
from service.strategy.models import Indicator, ValueKind, ValueRole
from service.strategy.reads import Loaded, Part, Parts
from service.strategy.values import ParsedValue

PROGRESS = frozenset({Part.values, Part.institutions, Part.progress})


async def add_measurements(
    session: AsyncSession, loaded: Loaded, parts: Parts, indicators: Sequence, as_of: dt.datetime | None = None
) -> None:
    """The current revisions (`Part.actuals`) and what progress needs (`Part.progress`: official actuals and
    assessments; the strategy read loads the values) of these indicators, as they stood at `as_of` (default: now),
    and the institutions they name that the strategy read did not load: a statement per part, and one for
    institutions only where one is missing."""
    ids = [row.id for row in indicators]
    if not ids:
        return
    if Part.actuals in parts:
        loaded.actuals = await repository.current_by_indicator(session, ids, as_of)
    if Part.progress in parts:
        loaded.official = await repository.official_by_indicator(session, ids, as_of)
        loaded.assessments = await repository.assessments_by_indicator(session, ids, as_of)
    if Part.institutions in parts:
        named = [row.institution_id for rows in loaded.actuals.values() for row in rows]
        await loaded.add_institutions(session, named)


def loaded_progress(loaded: Loaded, indicator: Indicator, year: int | None = None) -> list[ProgressOut]:
    """The progress of one indicator of a read that loaded its values, official actuals and assessments."""
    return indicator_progress(
        indicator,
        loaded.values.get(indicator.id, ()),
        loaded.official.get(indicator.id, ()),
        loaded.assessments.get(indicator.id, ()),
        loaded.institutions,
        year,
    )


async def _institutions(session: AsyncSession, rows: Sequence) -> dict[uuid.UUID, Institution]:
    return await registry.institutions_by_ids(session, [r.institution_id for r in rows if r.institution_id])


async def actuals(session: AsyncSession, indicator_id: uuid.UUID, as_of: dt.datetime | None = None) -> list[YearActual]:
    await indicator_context(session, indicator_id)
    current = (await repository.current_by_indicator(session, [indicator_id], as_of))[indicator_id]
    official = {
        (m.year, m.institution_id): m
        for m in (await repository.official_by_indicator(session, [indicator_id], as_of))[indicator_id]
    }
    institutions = await _institutions(session, current)
    return [
        YearActual(
            year=row.year,
            institution=institution_ref(institutions[row.institution_id]) if row.institution_id else None,
            current=measurement_out(row, institutions),
            official=measurement_out(official[(row.year, row.institution_id)], institutions)
            if (row.year, row.institution_id) in official
            else None,
        )
        for row in current
    ]


async def revisions_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> tuple[list[Measurement], dict[uuid.UUID, Institution]]:
    """These revisions as they stand now (a review changes its revision's status), in the order of `ids`, and
    the institutions they name."""
    found = await repository.revisions_by_ids(session, ids)
    rows = [found[i] for i in ids if i in found]
    return rows, await _institutions(session, rows)


async def _slot(
    session: AsyncSession, indicator_id: uuid.UUID, year: int, institution_code: str | None
) -> tuple[IndicatorContext, repository.Slot]:
    """The slot a history names: the indicator, the year, and the institution where it has values of its own."""
    ctx = await indicator_context(session, indicator_id)
    institution = await resolve_institution(session, ctx, institution_code)
    return ctx, (indicator_id, year, institution.id if institution else None)


async def _revisions_out(session: AsyncSession, rows: Sequence[tuple[Measurement, str | None]]) -> list[MeasurementOut]:
    institutions = await _institutions(session, [row for row, _ in rows])
    return [measurement_out(row, institutions, previous) for row, previous in rows]


async def history(
    session: AsyncSession,
    indicator_id: uuid.UUID,
    year: int,
    institution_code: str | None,
    as_of: dt.datetime | None = None,
) -> list[MeasurementOut]:
    """Every revision of the year (REST's history, oldest first); 404 where there is none."""
    ctx, slot = await _slot(session, indicator_id, year, institution_code)
    rows = await repository.revisions(session, slot, as_of)
    if not rows:
        raise NotFound("measurement", f"{ctx.indicator.code} {year}" + (f" as of {as_of.isoformat()}" if as_of else ""))
    return await _revisions_out(session, rows)


async def history_page(
    session: AsyncSession,
    indicator_id: uuid.UUID,
    year: int,
    institution_code: str | None,
    window: Window,
    as_of: dt.datetime | None = None,
) -> tuple[Slice[MeasurementOut], repository.Slot]:
    """A window of the year's revisions (GraphQL's connection; empty where none was posted by `as_of`), and the
    slot they are of (to count them)."""
    _, slot = await _slot(session, indicator_id, year, institution_code)
    part = Slice.of(await repository.revisions(session, slot, as_of, window), window)
    return Slice(await _revisions_out(session, part.rows), part.has_next, part.has_previous), slot


def revision_cursor(revision: MeasurementOut) -> str:
    return encode_cursor([revision.revision])


async def count_revisions(session: AsyncSession, slot: repository.Slot, as_of: dt.datetime | None = None) -> int:
    return await repository.count_revisions(session, slot, as_of)


def _parsed(row: Row | None) -> ParsedValue | None:
    return ParsedValue(ValueKind(row.kind), row.number, row.second) if row is not None else None


def indicator_progress(
    indicator: Indicator,
    values: Sequence[Row],
    official: Sequence[Row],
    assessments: Sequence[Row],
    institutions: dict[uuid.UUID, Institution],
    year: int | None = None,
) -> list[ProgressOut]:
    """Target, official actual and status for every target year (and institution) of one indicator."""
    baselines = {v.institution_id: v for v in values if v.role == ValueRole.baseline}
    actual_of = {(m.year, m.institution_id): m for m in official}
    assessed = {(a.year, a.institution_id): ProgressStatus(a.status) for a in assessments}
    result = []
    for target in values:
        if target.role != ValueRole.target or (year is not None and target.year != year):
            continue
        key = (target.year, target.institution_id)
        actual = actual_of.get(key)
        progress = evaluate(
            indicator.direction,
            _parsed(target),
            _parsed(actual),
            _parsed(baselines.get(target.institution_id)),
            assessed.get(key),
        )
        institution = institutions.get(target.institution_id) if target.institution_id else None
        result.append(
            ProgressOut(
                indicator_id=indicator.id,
                code=indicator.code,
                year=target.year,
                institution=institution_ref(institution) if institution else None,
                target=target.text,
                actual=actual.text if actual else None,
                status=progress.status,
                ratio=progress.ratio,
            )
        )
    return result


async def progress_of(
    session: AsyncSession, indicators: Sequence[Indicator], year: int | None = None, as_of: dt.datetime | None = None
) -> list[ProgressOut]:
    loaded = await strategy_reads.load(session, PROGRESS, indicators=indicators)
    await add_measurements(session, loaded, PROGRESS, indicators, as_of)
    return [p for indicator in indicators for p in loaded_progress(loaded, indicator, year)]


async def indicator_progress_of(
    session: AsyncSession, indicator_id: uuid.UUID, as_of: dt.datetime | None = None
) -> list[ProgressOut]:
    indicator = (await strategy.indicators_by_ids(session, [indicator_id])).get(indicator_id)
    if indicator is None:
        raise NotFound("indicator", str(indicator_id))
    return await progress_of(session, [indicator], as_of=as_of)


async def progress_summary(
    session: AsyncSession, query: strategy.IndicatorQuery, year: int, as_of: dt.datetime | None = None
) -> ProgressSummary:
    """How many indicators (per institution, where they have their own values) stand where, per goal and area."""
    indicators = list(await strategy.list_indicators(session, query))
    entries = await progress_of(session, indicators, year, as_of)
    goals = await strategy.goals_by_ids(session, list({i.goal_id for i in indicators}))
    areas = await strategy.areas_by_ids(session, list({g.area_id for g in goals.values()}))
    goal_of = {i.id: goals[i.goal_id] for i in indicators}
    by_goal: dict[uuid.UUID, Counter] = {g: Counter() for g in goals}
    by_area: dict[uuid.UUID, Counter] = {a: Counter() for a in areas}
    for entry in entries:
        institution_id = query.institution_id
        if institution_id is not None and entry.institution is not None and entry.institution.id != institution_id:
            continue
        goal = goal_of[entry.indicator_id]
        by_goal[goal.id][entry.status.value] += 1
        by_area[goal.area_id][entry.status.value] += 1
    ordered_goals = sorted(goals.values(), key=lambda g: (areas[g.area_id].position, g.number))
    return ProgressSummary(
        year=year,
        areas=[
            AreaProgress(area_id=a.id, code=a.code, counts=ProgressCounts(**by_area[a.id]))
            for a in sorted(areas.values(), key=lambda a: a.position)
        ],
        goals=[
            GoalProgress(
                goal_id=g.id, area_code=areas[g.area_id].code, number=g.number, counts=ProgressCounts(**by_goal[g.id])
            )
            for g in ordered_goals
        ],
    )
