"""REST routes of the reporting cycle, under /api/v1/reporting: the calendar, the Excel template, and the admin's
dates, closing, reopening and exceptions of a year."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from service.core.auth import AdminDep, PrincipalDep
from service.core.db import SessionDep
from service.core.errors import WRITE_RESPONSES
from service.core.models import YearPath
from service.measurements import periods, reporting
from service.measurements.schemas import (
    ExceptionIn,
    ReopenIn,
    ReportingCalendar,
    ReportingDatesIn,
    ReportingPeriodOut,
)
from service.measurements.xlsx import XLSX_MEDIA_TYPE

router = APIRouter(prefix="/api/v1/reporting", tags=["reporting"], responses=WRITE_RESPONSES)

StrategyParam = Annotated[
    str | None,
    Query(max_length=200, description="Strategy id or key; without it, the only strategy whose period holds the year."),
]
InstitutionParam = Annotated[
    str | None,
    Query(max_length=64, description="Institution code; an agency sees its own, an admin without it every one."),
]
PERIOD_CLOSED = {409: {"description": "The year is closed (`code`: `PERIOD_CLOSED`), or already closed / not closed."}}


@router.get("/{year:int}", response_model=ReportingCalendar)
async def reporting_calendar(
    session: SessionDep, principal: PrincipalDep, year: YearPath,
    institution: InstitutionParam = None, strategy: StrategyParam = None,
) -> ReportingCalendar:  # fmt: skip
    """The year's dates, whether it is closed, and each slot (indicator × year × institution) the institution
    owes with its state: `due`, `submitted`, `returned`, `approved`, or `late` (no value after the due date;
    computed, not stored), plus the counts. Without dates set, the year is due on 1 March of the next year."""
    return await reporting.calendar(session, principal, strategy, year, institution)


@router.get(
    "/{year:int}/template.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The workbook to fill in."}},
)
async def reporting_template(
    session: SessionDep, principal: PrincipalDep, year: YearPath,
    institution: InstitutionParam = None, strategy: StrategyParam = None,
) -> Response:  # fmt: skip
    """The institution's slots of the year as an Excel workbook: code, name, unit, baseline, the year's target, the
    current value and its revision (`expected_revision`), state and comment. Only `value` and `comment` can be
    edited; upload the filled file to `/api/v1/measurements/import` (with the same `strategy`)."""
    body, name = await reporting.template_workbook(session, principal, strategy, year, institution)
    return Response(body, media_type=XLSX_MEDIA_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.put("/{year:int}/dates", response_model=ReportingPeriodOut)
async def set_reporting_dates(
    session: SessionDep, principal: AdminDep, year: YearPath, payload: ReportingDatesIn, strategy: StrategyParam = None
) -> ReportingPeriodOut:
    """Admin: when agencies report the year (opening date) and by when (due date)."""
    owner = await reporting.reporting_strategy(session, strategy, year)
    period = await periods.set_dates(session, principal, owner.id, year, payload.opens_on, payload.due_on)
    return reporting.period_out(owner, period)


@router.post("/{year:int}/close", response_model=ReportingPeriodOut, responses=PERIOD_CLOSED)
async def close_reporting_year(
    session: SessionDep, principal: AdminDep, year: YearPath, strategy: StrategyParam = None
) -> ReportingPeriodOut:
    """Admin: close the year once its report is adopted. Posts, corrections, imports, reviews and assessments of
    it are then refused (409, `PERIOD_CLOSED`) unless the institution has an exception."""
    owner = await reporting.reporting_strategy(session, strategy, year)
    return reporting.period_out(owner, await periods.close(session, principal, owner.id, year))


@router.post("/{year:int}/reopen", response_model=ReportingPeriodOut, responses=PERIOD_CLOSED)
async def reopen_reporting_year(
    session: SessionDep, principal: AdminDep, year: YearPath, payload: ReopenIn, strategy: StrategyParam = None
) -> ReportingPeriodOut:
    """Admin: open a closed year again, saying why (the reason is kept in the audit log)."""
    owner = await reporting.reporting_strategy(session, strategy, year)
    return reporting.period_out(owner, await periods.reopen(session, principal, owner.id, year, payload.reason))


@router.post("/{year:int}/exceptions", response_model=ReportingPeriodOut)
async def grant_reporting_exception(
    session: SessionDep, principal: AdminDep, year: YearPath, payload: ExceptionIn, strategy: StrategyParam = None
) -> ReportingPeriodOut:
    """Admin: let one institution still write the year, closed or not, until a date (inclusive)."""
    owner = await reporting.reporting_strategy(session, strategy, year)
    period = await periods.grant_exception(
        session, principal, owner.id, year, payload.institution, payload.until, payload.reason
    )
    return reporting.period_out(owner, period)
