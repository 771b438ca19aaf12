"""REST routes of the strategy, under /api/v1."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from service.core.auth import AdminDep
from service.core.caching import CONDITIONAL_READ, json_with_etag, written
from service.core.db import SessionDep
from service.core.errors import PROBLEM_RESPONSES, WRITE_RESPONSES, problem_responses
from service.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, Window
from service.core.preconditions import IfMatch
from service.strategy import reads, service
from service.strategy.schemas import (
    IndicatorOut,
    IndicatorPatch,
    StrategyDetail,
    StrategyIn,
    StrategyOut,
    StrategyPatch,
    TaskOut,
    TaskPatch,
)

router = APIRouter(prefix="/api/v1", tags=["strategy"], responses=PROBLEM_RESPONSES)

StrategyParam = Annotated[str | None, Query(max_length=200, description="Strategy id or key.")]
AreaParam = Annotated[str | None, Query(max_length=10, description="Policy area code: `1`…`5`, `H1`, `H2`.")]
InstitutionParam = Annotated[str | None, Query(max_length=64, description="Institution code, e.g. `VP`.")]
CONFLICT_RESPONSE = problem_responses(409)


@router.get("/strategies", response_model=Page[StrategyOut], responses=CONDITIONAL_READ)
async def list_strategies(request: Request, session: SessionDep) -> Response:
    return json_with_etag(request, Page[StrategyOut](items=await service.list_strategies(session)))


@router.get("/strategies/{strategy_id:uuid}", response_model=StrategyDetail, responses=CONDITIONAL_READ)
async def get_strategy(request: Request, session: SessionDep, strategy_id: uuid.UUID) -> Response:
    """The whole strategy: areas, goals, indicators with baseline and targets, action directions, tasks, SWOT."""
    return json_with_etag(request, await service.get_strategy(session, strategy_id))


@router.get("/indicators", response_model=Page[IndicatorOut], responses=CONDITIONAL_READ)
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
    part = await reads.page_indicators(session, query, Window(limit, cursor))
    items = await service.indicators_out(session, part.rows)
    following = reads.next_cursor_of(part, reads.document_order)
    return json_with_etag(request, Page[IndicatorOut](items=items, next_cursor=following))


@router.get("/indicators/{indicator_id:uuid}", response_model=IndicatorOut, responses=CONDITIONAL_READ)
async def get_indicator(request: Request, session: SessionDep, indicator_id: uuid.UUID) -> Response:
    return json_with_etag(request, await service.get_indicator(session, indicator_id))


@router.get("/indicators/by-code/{code}", response_model=IndicatorOut, responses=CONFLICT_RESPONSE | CONDITIONAL_READ)
async def get_indicator_by_code(
    request: Request,
    session: SessionDep,
    code: Annotated[str, Path(max_length=20, pattern=r"^[A-Za-z0-9.]+$", description="e.g. `1.1.1`, `H1.1.2`")],
    strategy: Annotated[
        str | None,
        Query(max_length=200, description="Strategy id or key; needed where several strategies use the code."),
    ] = None,
) -> Response:
    """The indicator with this code, as `/indicators/{id}` gives it."""
    return json_with_etag(request, await service.get_indicator_by_code(session, code, strategy))


@router.get("/tasks", response_model=Page[TaskOut], responses=CONDITIONAL_READ)
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


@router.get("/tasks/{task_id:uuid}", response_model=TaskOut, responses=CONDITIONAL_READ)
async def get_task(request: Request, session: SessionDep, task_id: uuid.UUID) -> Response:
    """One task; its ETag is what an edit of it sends as If-Match."""
    return json_with_etag(request, await service.get_task(session, task_id))


# --- admin writes ---------------------------------------------------------------------------
# PATCH bodies are JSON Merge Patches; PATCH and DELETE send the entity's ETag in If-Match.

admin_router = APIRouter(prefix="/api/v1", tags=["strategy: admin"], responses=WRITE_RESPONSES)


@admin_router.post("/strategies", status_code=201, response_model=StrategyDetail)
async def create_strategy(session: SessionDep, admin: AdminDep, payload: StrategyIn) -> Response:
    """A strategy of its own (an agency's), cascading from a parent strategy."""
    out = await service.create_strategy(session, admin, payload)
    return written(out, 201, {"Location": f"/api/v1/strategies/{out.id}"})


@admin_router.patch("/strategies/{strategy_id:uuid}", response_model=StrategyDetail)
async def update_strategy(
    session: SessionDep, admin: AdminDep, strategy_id: uuid.UUID, payload: StrategyPatch, if_match: IfMatch = None
) -> Response:
    return written(await service.update_strategy(session, admin, strategy_id, payload, if_match))


@admin_router.delete("/strategies/{strategy_id:uuid}", status_code=204)
async def delete_strategy(
    session: SessionDep, admin: AdminDep, strategy_id: uuid.UUID, if_match: IfMatch = None
) -> Response:
    """Refused with 409 while a strategy cascades from it or its indicators hold actuals."""
    await service.delete_strategy(session, admin, strategy_id, if_match)
    return Response(status_code=204)


@admin_router.patch("/indicators/{indicator_id:uuid}", response_model=IndicatorOut)
async def update_indicator(
    session: SessionDep, admin: AdminDep, indicator_id: uuid.UUID, payload: IndicatorPatch, if_match: IfMatch = None
) -> Response:
    return written(await service.update_indicator(session, admin, indicator_id, payload, if_match))


@admin_router.patch("/tasks/{task_id:uuid}", response_model=TaskOut)
async def update_task(
    session: SessionDep, admin: AdminDep, task_id: uuid.UUID, payload: TaskPatch, if_match: IfMatch = None
) -> Response:
    """Set a task's text or the roles of its listed institutions (responsible / involved)."""
    return written(await service.update_task(session, admin, task_id, payload, if_match))
