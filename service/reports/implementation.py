"""The yearly implementation report's content: per area and goal, each indicator's baseline, the year's target,
the official actual, its status and the series over the strategy period; per area the counts by status. Reads
only, through the measurements and strategy domains' read functions; `as_of` answers as they stood then."""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from service.measurements import reads as progress
from service.measurements import reporting
from service.measurements import repository as measurements
from service.measurements.progress import ProgressStatus
from service.registry import repository as registry
from service.strategy import repository as strategy
from service.strategy.models import IndicatorValue, Strategy, ValueKind, ValueRole

CHARTED = {ValueKind.number, ValueKind.percent, ValueKind.change}


@dataclass(frozen=True)
class Point:
    year: int
    value: float
    text: str


@dataclass(frozen=True)
class Series:
    """What a chart draws: the targets the strategy set and the official actuals, each by year."""

    years: list[int]
    targets: list[Point]
    actuals: list[Point]
    baseline: Point | None


@dataclass(frozen=True)
class IndicatorLine:
    code: str
    name: dict
    unit: str
    institution: str | None
    baseline: str | None
    target: str | None
    actual: str | None
    status: ProgressStatus
    series: Series | None  # None where the values are no numbers (pairs, `Palielinās`)


@dataclass
class GoalSection:
    number: int
    title: dict
    lines: list[IndicatorLine] = field(default_factory=list)


@dataclass
class AreaSection:
    code: str
    title: dict
    counts: Counter = field(default_factory=Counter)
    goals: list[GoalSection] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    strategy: Strategy
    year: int
    as_of: dt.datetime | None
    made_at: dt.datetime
    areas: list[AreaSection]

    @property
    def counts(self) -> Counter:
        return sum((a.counts for a in self.areas), Counter())


def _point(row, year: int | None = None) -> Point | None:
    if row is None or row.number is None or ValueKind(row.kind) not in CHARTED:
        return None
    return Point(year if year is not None else row.year, float(Decimal(row.number)), row.text)


def _series(strategy_row: Strategy, values: list[IndicatorValue], official: list, institution_id) -> Series | None:
    own = [v for v in values if v.institution_id == institution_id]
    if not any(ValueKind(v.kind) in CHARTED for v in own if v.role == ValueRole.target):
        return None
    baseline = next((v for v in own if v.role == ValueRole.baseline), None)
    targets = [p for v in own if v.role == ValueRole.target and (p := _point(v))]
    actuals = [p for m in official if m.institution_id == institution_id and (p := _point(m))]
    first = min([strategy_row.period_start] + ([baseline.year] if baseline else []))
    return Series(list(range(first, strategy_row.period_end + 1)), sorted(targets, key=lambda p: p.year),
                  sorted(actuals, key=lambda p: p.year), _point(baseline))  # fmt: skip


async def implementation_report(
    session: AsyncSession, key: str | None, year: int, as_of: dt.datetime | None = None
) -> Report:
    owner = await reporting.reporting_strategy(session, key, year)
    areas = (await strategy.areas_by_strategy(session, [owner.id]))[owner.id]
    goals = await strategy.goals_by_area(session, [a.id for a in areas])
    indicators = await strategy.indicators_by_goal(session, [g.id for gs in goals.values() for g in gs])
    ids = [i.id for group in indicators.values() for i in group]
    values = await strategy.values_by_indicator(session, ids)
    official = await measurements.official_by_indicator(session, ids, as_of)
    institutions = await registry.institutions_by_ids(
        session, [v.institution_id for vs in values.values() for v in vs if v.institution_id]
    )
    every = [i for group in indicators.values() for i in group]
    entries = await progress.progress_of(session, every, year, as_of)
    by_slot = {(p.indicator_id, p.institution.id if p.institution else None): p for p in entries}
    sections = []
    for area in sorted(areas, key=lambda a: a.position):
        section = AreaSection(area.code, area.title)
        for goal in sorted(goals[area.id], key=lambda g: g.number):
            goal_section = GoalSection(goal.number, goal.title)
            for indicator in sorted(indicators[goal.id], key=lambda i: i.number):
                own = values[indicator.id]
                owners = sorted({v.institution_id for v in own if v.institution_id},
                                key=lambda i: institutions[i].code) or [None]  # fmt: skip
                for institution_id in owners:
                    entry = by_slot.get((indicator.id, institution_id))
                    baseline = next((v for v in own if v.role == ValueRole.baseline
                                     and v.institution_id == institution_id), None)  # fmt: skip
                    status = entry.status if entry else ProgressStatus.not_applicable
                    section.counts[status] += 1
                    goal_section.lines.append(
                        IndicatorLine(
                            code=indicator.code, name=indicator.name, unit=indicator.unit,
                            institution=institutions[institution_id].code if institution_id else None,
                            baseline=baseline.text if baseline else None,
                            target=entry.target if entry else None, actual=entry.actual if entry else None,
                            status=status, series=_series(owner, own, official[indicator.id], institution_id),
                        )
                    )  # fmt: skip
            section.goals.append(goal_section)
        sections.append(section)
    return Report(owner, year, as_of, dt.datetime.now(dt.UTC), sections)
