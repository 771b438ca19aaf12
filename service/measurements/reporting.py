"""The reporting calendar: what each institution owes for a year (indicator × year × institution), in which state,
and the admin's writes around it (dates, closing, reopening, exceptions: periods.py)."""

import uuid
from collections import Counter
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.core.auth import Forbidden, Principal
from service.core.errors import NotFound, Problem, quoted
from service.measurements import periods, repository, xlsx
from service.measurements.models import Measurement, Status
from service.measurements.schemas import (
    ReportingCalendar,
    ReportingExceptionOut,
    ReportingPeriodOut,
    ReportingSlot,
    SlotCounts,
    SlotState,
)
from service.registry import repository as registry
from service.registry.models import Institution
from service.registry.service import institution_ref
from service.strategy import repository as strategy
from service.strategy.models import Indicator, IndicatorValue, Strategy, ValueKind, ValueRole
from service.strategy.service import resolve_strategy_id


async def reporting_strategy(session: AsyncSession, key: str | None, year: int) -> Strategy:
    """The strategy named, or else the only one whose period holds the year."""
    if key is not None:
        found = (await strategy.strategies_by_ids(session, [await resolve_strategy_id(session, key)])).values()
        candidates = list(found)
    else:
        candidates = [s for s in await strategy.list_strategies(session) if s.period_start <= year <= s.period_end]
        if len(candidates) > 1:
            keys = ", ".join(sorted(s.key for s in candidates)[:5])
            raise Problem(422, f"Several strategies report {year} ({keys}); name one with ?strategy=.")
    if not candidates or not candidates[0].period_start <= year <= candidates[0].period_end:
        raise NotFound("reporting year", year)
    return candidates[0]


@dataclass(frozen=True)
class Slot:
    """One value owed for the year: an indicator's, for one institution where it has values of its own."""

    indicator: Indicator
    institution: Institution | None
    owed_by: list[str]
    baseline: IndicatorValue | None
    target: IndicatorValue | None
    current: Measurement | None
    state: SlotState


def slot_state(current: Measurement | None, period: periods.Period) -> SlotState:
    if current is None:
        return SlotState.late if periods.today() > period.due_on else SlotState.due
    return {Status.submitted: SlotState.submitted, Status.returned: SlotState.returned}.get(
        current.status, SlotState.approved
    )


def _value(values: list[IndicatorValue], role: ValueRole, institution_id: uuid.UUID | None, year: int | None):
    return next(
        (
            v
            for v in values
            if v.role == role and v.institution_id == institution_id and (year is None or v.year == year)
        ),
        None,
    )


async def slots(
    session: AsyncSession, owner: Strategy, year: int, institution: Institution | None, period: periods.Period
) -> list[Slot]:
    """Every slot of the year, or only those `institution` owes: its own values, and those of goals it is in."""
    query = strategy.IndicatorQuery(strategy_id=owner.id, institution_id=institution.id if institution else None)
    indicators = await strategy.list_indicators(session, query)
    ids = [i.id for i in indicators]
    values = await strategy.values_by_indicator(session, ids)
    links = await strategy.goal_institutions_by_goal(session, list({i.goal_id for i in indicators}))
    institutions = await registry.institutions_by_ids(
        session,
        [v.institution_id for vs in values.values() for v in vs if v.institution_id]
        + [link.institution_id for ls in links.values() for link in ls],
    )
    current = await repository.current_by_slot(session, ids)
    result = []
    for indicator in indicators:
        own = values[indicator.id]
        if not {v.kind for v in own} - {ValueKind.none}:
            continue  # an indicator without values takes no actuals
        owners = sorted(
            (institutions[i] for i in {v.institution_id for v in own if v.institution_id}), key=lambda i: i.code
        )
        goal_codes = [institutions[link.institution_id].code for link in links[indicator.goal_id]]
        for slot_institution in owners or [None]:
            owed_by = [slot_institution.code] if slot_institution else goal_codes
            if institution is not None and institution.code not in owed_by:
                continue
            institution_id = slot_institution.id if slot_institution else None
            revision = current.get((indicator.id, year, institution_id))
            result.append(
                Slot(
                    indicator, slot_institution, owed_by,
                    _value(own, ValueRole.baseline, institution_id, None),
                    _value(own, ValueRole.target, institution_id, year),
                    revision, slot_state(revision, period),
                )
            )  # fmt: skip
    return result


async def whose(session: AsyncSession, principal: Principal, code: str | None) -> Institution | None:
    """The institution whose slots are asked for: an agency sees its own; an admin any one, or all (None)."""
    if not principal.is_admin:
        if code is not None and code != principal.institution_code:
            raise Forbidden(f"A {principal.institution_code} token sees only {principal.institution_code}'s slots.")
        code = principal.institution_code
    if code is None:
        return None
    institution = await registry.get_institution_by_code(session, code)
    if institution is None:
        raise Problem(422, f"No institution with code {quoted(code)}.")
    return institution


def period_out(owner: Strategy, period: periods.Period) -> ReportingPeriodOut:
    return ReportingPeriodOut(
        strategy=owner.key, year=period.year, opens_on=period.opens_on, due_on=period.due_on,
        closed=period.closed, closed_at=period.closed_at, closed_by=period.closed_by,
        exceptions=[
            ReportingExceptionOut(institution=i.code, until=e.until, reason=e.reason, granted_by=e.granted_by)
            for i, e in period.exceptions
        ],
    )  # fmt: skip


async def calendar(
    session: AsyncSession, principal: Principal, strategy_key: str | None, year: int, institution_code: str | None
) -> ReportingCalendar:
    owner = await reporting_strategy(session, strategy_key, year)
    institution = await whose(session, principal, institution_code)
    period = await periods.period(session, owner.id, year)
    found = await slots(session, owner, year, institution, period)
    counts = Counter(s.state.value for s in found)
    return ReportingCalendar(
        period=period_out(owner, period),
        institution=institution.code if institution else None,
        counts=SlotCounts(**counts, total=len(found)),
        slots=[
            ReportingSlot(
                indicator_id=s.indicator.id, code=s.indicator.code, year=year,
                institution=institution_ref(s.institution) if s.institution else None, owed_by=s.owed_by,
                state=s.state, revision=s.current.revision if s.current else None,
                value=s.current.text if s.current else None,
            )
            for s in found
        ],
    )  # fmt: skip


def _cell_value(row: Measurement | IndicatorValue | None):
    """A value for the template: a number as a number (Excel checks and formats it), any other form as text."""
    if row is None:
        return None
    if row.kind in (ValueKind.number, ValueKind.percent) and row.number is not None:
        return row.number
    return row.text


async def template_workbook(
    session: AsyncSession, principal: Principal, strategy_key: str | None, year: int, institution_code: str | None
) -> tuple[bytes, str]:
    """The year's slots the institution owes as a workbook to fill in and upload to /measurements/import, and
    its file name. Each row carries the current value and revision, so an unchanged row writes nothing and a
    changed one corrects exactly the revision it names."""
    owner = await reporting_strategy(session, strategy_key, year)
    institution = await whose(session, principal, institution_code)
    period = await periods.period(session, owner.id, year)
    found = await slots(session, owner, year, institution, period)
    rows, kinds = [], []
    for s in found:
        kind_of = {ValueKind(v.kind) for v in (s.target, s.baseline) if v is not None} - {ValueKind.none}
        kinds.append(next(iter(kind_of)) if len(kind_of) == 1 else ValueKind.qualitative)
        rows.append({
            "indicator_code": s.indicator.code, "name": s.indicator.name.get("lv") or s.indicator.name.get("en"),
            "unit": s.indicator.unit, "baseline": s.baseline.text if s.baseline else None,
            "target": s.target.text if s.target else None, "institution": s.institution.code if s.institution else None,
            "year": year, "value": _cell_value(s.current), "comment": s.current.comment if s.current else None,
            "expected_revision": s.current.revision if s.current else None, "state": s.state.value,
        })  # fmt: skip
    whom = institution.code if institution else "visas iestādes"
    title = f"{owner.title.get('lv') or owner.key}: {year}. gada vērtības ({whom})"
    notes = (
        f"Iesniegt līdz {period.due_on:%d.%m.%Y}. Due by {period.due_on:%Y-%m-%d}.",
        "Aizpildiet kolonnas value un comment; pārējās ir tikai lasāmas.",
        "Fill in value and comment; the other columns are locked.",
        "Augšupielādējiet: POST /api/v1/measurements/import (the same rules as the CSV import).",
        f"strategy: {owner.key}",
    )
    name = f"{owner.key}-{year}-{institution.code if institution else 'all'}.xlsx".replace(" ", "_")
    return xlsx.template(rows, kinds, title, notes), name
