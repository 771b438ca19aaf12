"""The implementation report over REST: a printable HTML page, or the same as .xlsx."""

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from service.core.db import SessionDep
from service.core.errors import PROBLEM_RESPONSES
from service.core.models import YearPath
from service.measurements.rest import AsOfParam
from service.measurements.xlsx import XLSX_MEDIA_TYPE
from service.reports import render
from service.reports.implementation import implementation_report

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=PROBLEM_RESPONSES)

LangParam = Annotated[Literal["lv", "en"], Query(description="The report's language: Latvian (default) or English.")]
StrategyParam = Annotated[
    str | None,
    Query(max_length=200, description="Strategy id or key; without it, the only strategy whose period holds the year."),
]


@router.get(
    "/implementation/{year:int}",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "The report as a printable page."}},
)
async def implementation_report_page(
    session: SessionDep, year: YearPath, lang: LangParam = "lv", strategy: StrategyParam = None, as_of: AsOfParam = None
) -> HTMLResponse:
    """The yearly implementation report: per area and goal each indicator's baseline, the year's target, the official
    (approved) actual, its status and a chart of the series over the strategy period; per area the counts by
    status. Inline SVG drawn on the server: no script, prints as shown. `as_of` shows it as it stood then."""
    report = await implementation_report(session, strategy, year, as_of)
    page = await asyncio.to_thread(render.html, report, lang)
    return HTMLResponse(page)


@router.get(
    "/implementation/{year:int}.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The report as a workbook."}},
)
async def implementation_report_workbook(
    session: SessionDep, year: YearPath, lang: LangParam = "lv", strategy: StrategyParam = None, as_of: AsOfParam = None
) -> Response:
    """The same report as an Excel workbook: every indicator line, and the counts per area."""
    report = await implementation_report(session, strategy, year, as_of)
    body = await asyncio.to_thread(render.workbook, report, lang)
    name = f"{report.strategy.key}-{year}-{lang}.xlsx"
    return Response(body, media_type=XLSX_MEDIA_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}"'})
