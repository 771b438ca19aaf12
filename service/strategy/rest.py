"""REST routes of the strategy, under /api/v1."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from service.core.caching import json_with_etag
from service.core.db import SessionDep
from service.core.errors import PROBLEM_RESPONSES
from service.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page
from service.strategy import service
from service.strategy.schemas import IndicatorOut, StrategyDetail, StrategyOut, TaskOut

router = APIRouter(prefix="/api/v1", tags=["strategy"], responses=PROBLEM_RESPONSES)

StrategyParam = Annotated[str | None, Query(max_length=200, description="Strategy id or key.")]
AreaParam = Annotated[str | None, Query(max_length=10, description="Policy area code: `1`…`5`, `H1`, `H2`.")]
InstitutionParam = Annotated[str | None, Query(max_length=64, description="Institution code, e.g. `VP`.")]


@router.get("/strategies", response_model=Page[StrategyOut])
async def list_strategies(request: Request, session: SessionDep) -> Response:
    return json_with_etag(request, Page[StrategyOut](items=await service.list_strategies(session)))


@router.get("/strategies/{strategy_id}", response_model=StrategyDetail)
async def get_strategy(request: Request, session: SessionDep, strategy_id: uuid.UUID) -> Response:
    """The whole strategy: areas, goals, indicators with baseline and targets, action directions, tasks, SWOT."""
    return json_with_etag(request, await service.get_strategy(session, strategy_id))


@router.get("/indicators", response_model=Page[IndicatorOut])
async def list_indicators(
    request: Request,
    session: SessionDep,
    strategy: StrategyParam = None,
    area: AreaParam = None,
    institution: Annotated[
        str | None,
        Query(
            max_length=64, description="Indicators of goals this institution is involved in, or with its own values."
        ),
    ] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Response:
    query = await service.indicator_query(session, strategy=strategy, area=area, institution=institution)
    rows, next_cursor = await service.page_indicators(session, query, limit, cursor)
    items = await service.indicators_out(session, rows)
    return json_with_etag(request, Page[IndicatorOut](items=items, next_cursor=next_cursor))


@router.get("/indicators/{indicator_id}", response_model=IndicatorOut)
async def get_indicator(request: Request, session: SessionDep, indicator_id: uuid.UUID) -> Response:
    return json_with_etag(request, await service.get_indicator(session, indicator_id))


@router.get("/tasks", response_model=Page[TaskOut])
async def list_tasks(
    request: Request,
    session: SessionDep,
    strategy: StrategyParam = None,
    area: AreaParam = None,
    action_direction: uuid.UUID | None = None,
    institution: InstitutionParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Response:
    """Tasks in document order; `institution` keeps those listing that institution."""
    query = await service.task_query(
        session, strategy=strategy, area=area, action_direction=action_direction, institution=institution
    )
    items, next_cursor = await service.page_tasks(session, query, limit, cursor)
    return json_with_etag(request, Page[TaskOut](items=items, next_cursor=next_cursor))
