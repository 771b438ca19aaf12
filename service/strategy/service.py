"""The strategy's rules: filters, REST's output types mapped from the read path's rows, and the admin edits."""

import uuid
from collections.abc import Sequence

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from service.core import merge_patch, writes
from service.core.auth import Principal, require_admin
from service.core.caching import etag_of_payload, locked_at_version
from service.core.errors import NotFound, Problem
from service.core.i18n import required_text
from service.core.models import named_row_id, stable_id
from service.core.pagination import Window
from service.registry import repository as registry
from service.registry.schemas import InstitutionRef
from service.registry.service import institution_ref
from service.strategy import reads, repository
from service.strategy.models import Indicator, Strategy, Task, ValueRole
from service.strategy.reads import Part
from service.strategy.schemas import (
    ActionDirectionOut,
    AreaOut,
    FootnoteOut,
    GoalOut,
    IndicatorEdit,
    IndicatorOut,
    IndicatorPatch,
    StrategyDetail,
    StrategyIn,
    StrategyOut,
    StrategyPatch,
    SwotOut,
    TaskEdit,
    TaskInstitutionOut,
    TaskOut,
    TaskPatch,
    ValueOut,
)
from service.strategy.values import published


async def resolve_institution_id(session: AsyncSession, code: str) -> uuid.UUID:
    institution = await registry.get_institution_by_code(session, code)
    if institution is None:
        raise NotFound("institution", code)
    return institution.id


async def resolve_strategy_id(session: AsyncSession, id_or_key: str) -> uuid.UUID:
    """A strategy given by id (REST's, or its GraphQL node's) or by key, as clients write any."""
    if (strategy_id := named_row_id(id_or_key, "Strategy")) is not None:
        return strategy_id
    strategy = await repository.get_strategy_by_key(session, id_or_key)
    if strategy is None:
        raise NotFound("strategy", id_or_key)
    return strategy.id


# --- REST's output types, each mapped from the read path's rows (`reads.Loaded`) here ----------------------


def _footnotes(loaded: reads.Loaded, strategy_id: uuid.UUID, numbers: Sequence[int]) -> list[FootnoteOut]:
    return [FootnoteOut(number=note.number, text=note.text) for note in loaded.footnotes_of(strategy_id, numbers)]


def _ref(loaded: reads.Loaded, institution_id: uuid.UUID | None) -> InstitutionRef | None:
    institution = loaded.institution(institution_id)
    return institution_ref(institution) if institution is not None else None


def value_out(value: Row, strategy_id: uuid.UUID, loaded: reads.Loaded) -> ValueOut:
    number, pair = published(value.number, value.second)
    return ValueOut(
        year=value.year,
        role=value.role,
        text=value.text,
        kind=value.kind,
        value=number,
        pair=pair,
        institution=_ref(loaded, value.institution_id),
        footnotes=_footnotes(loaded, strategy_id, value.footnote_numbers),
    )


def indicator_out(indicator: Indicator | Row, loaded: reads.Loaded) -> IndicatorOut:
    rendered = [value_out(v, indicator.strategy_id, loaded) for v in loaded.values.get(indicator.id, ())]
    return IndicatorOut(
        id=indicator.id,
        code=indicator.code,
        strategy_id=indicator.strategy_id,
        goal_id=indicator.goal_id,
        name=indicator.name,
        unit=indicator.unit,
        direction=indicator.direction,
        footnotes=_footnotes(loaded, indicator.strategy_id, indicator.footnote_numbers),
        baseline=[v for v in rendered if v.role == ValueRole.baseline],
        targets=[v for v in rendered if v.role == ValueRole.target],
        updated_at=indicator.updated_at,
    )


def task_out(task: Task | Row, loaded: reads.Loaded) -> TaskOut:
    return TaskOut(
        id=task.id,
        number=task.number,
        parent_number=task.parent_number,
        text=task.text,
        institutions=[
            TaskInstitutionOut(
                institution=_ref(loaded, link.institution_id), written_as=link.written_as, role=link.role
            )
            for link in loaded.task_institutions.get(task.id, ())
        ],
        footnotes=_footnotes(loaded, task.strategy_id, task.footnote_numbers),
        action_direction_id=task.action_direction_id,
        updated_at=task.updated_at,
    )


def strategy_out(strategy: Strategy, loaded: reads.Loaded) -> StrategyOut:
    return StrategyOut(
        id=strategy.id,
        key=strategy.key,
        title=strategy.title,
        period_start=strategy.period_start,
        period_end=strategy.period_end,
        baseline_year=strategy.baseline_year,
        parent_id=strategy.parent_id,
        owner=_ref(loaded, strategy.owner_id),
        dates=strategy.dates,
        sources=strategy.sources,
        updated_at=strategy.updated_at,
    )


def strategy_detail(strategy: Strategy, loaded: reads.Loaded) -> StrategyDetail:
    areas = [
        AreaOut(
            id=area.id,
            code=area.code,
            number=area.position,
            kind=area.kind,
            title=area.title,
            goals=[
                GoalOut(
                    id=goal.id,
                    number=goal.number,
                    title=goal.title,
                    institutions_text=goal.institutions_text,
                    institutions=[
                        _ref(loaded, link.institution_id) for link in loaded.goal_institutions.get(goal.id, ())
                    ],
                    indicators=[indicator_out(ind, loaded) for ind in loaded.indicators.get(goal.id, ())],
                )
                for goal in loaded.goals.get(area.id, ())
            ],
            action_directions=[
                ActionDirectionOut(
                    id=direction.id,
                    number=direction.number,
                    title=direction.title,
                    tasks=[task_out(t, loaded) for t in loaded.tasks.get(direction.id, ())],
                )
                for direction in loaded.directions.get(area.id, ())
            ],
        )
        for area in loaded.areas.get(strategy.id, ())
    ]
    return StrategyDetail(
        **strategy_out(strategy, loaded).model_dump(),
        footnotes=_footnotes(loaded, strategy.id, strategy.footnote_numbers),
        areas=areas,
        swot=[SwotOut(kind=f.kind, text=f.text) for f in loaded.swot.get(strategy.id, ())],
    )


# --- REST's reads ---------------------------------------------------------------------------------------


async def list_strategies(session: AsyncSession) -> list[StrategyOut]:
    rows = await repository.list_strategies(session)
    loaded = await reads.load(session, frozenset({Part.institutions}), strategies=rows)
    return [strategy_out(s, loaded) for s in rows]


async def get_strategy(session: AsyncSession, strategy_id: uuid.UUID) -> StrategyDetail:
    """The whole tree of one strategy, level by level: a fixed number of statements."""
    strategy = await reads.strategy(session, strategy_id)
    return strategy_detail(strategy, await reads.load(session, reads.WHOLE_TREE, strategies=[strategy]))


async def indicator_query(
    session: AsyncSession, *, strategy: str | None, area: str | None, institution: str | None
) -> repository.IndicatorQuery:
    return repository.IndicatorQuery(
        strategy_id=await resolve_strategy_id(session, strategy) if strategy else None,
        area_code=area,
        institution_id=await resolve_institution_id(session, institution) if institution else None,
    )


async def indicators_out(session: AsyncSession, rows: Sequence[Indicator]) -> list[IndicatorOut]:
    loaded = await reads.load(session, reads.INDICATOR, indicators=rows)
    return [indicator_out(r, loaded) for r in rows]


async def get_indicator(session: AsyncSession, indicator_id: uuid.UUID) -> IndicatorOut:
    indicator = (await repository.indicators_by_ids(session, [indicator_id])).get(indicator_id)
    if indicator is None:
        raise NotFound("indicator", str(indicator_id))
    return (await indicators_out(session, [indicator]))[0]


async def get_indicator_by_code(session: AsyncSession, code: str, strategy: str | None) -> IndicatorOut:
    """The indicator with this code; codes repeat across strategies, so several matches ask for `strategy`."""
    strategy_id = await resolve_strategy_id(session, strategy) if strategy else None
    found = await repository.indicators_by_code(session, code, strategy_id)
    if not found:
        raise NotFound("indicator", code)
    if len(found) > 1:
        strategies = await repository.strategies_by_ids(session, [i.strategy_id for i in found])
        keys = ", ".join(sorted(strategies[i.strategy_id].key for i in found))
        raise Problem(409, f"Indicator {code} is in several strategies ({keys}); name one with ?strategy=.")
    return (await indicators_out(session, found))[0]


async def task_query(
    session: AsyncSession,
    *,
    strategy: str | None,
    area: str | None,
    action_direction: uuid.UUID | None,
    institution: str | None,
) -> repository.TaskQuery:
    return repository.TaskQuery(
        strategy_id=await resolve_strategy_id(session, strategy) if strategy else None,
        area_code=area,
        action_direction_id=action_direction,
        institution_id=await resolve_institution_id(session, institution) if institution else None,
    )


async def tasks_out(session: AsyncSession, page: Sequence[Task]) -> list[TaskOut]:
    loaded = await reads.load(session, reads.TASK, tasks=page)
    return [task_out(t, loaded) for t in page]


async def page_tasks(
    session: AsyncSession, query: repository.TaskQuery, limit: int, cursor: str | None
) -> tuple[list[TaskOut], str | None]:
    part = await reads.page_tasks(session, query, Window(limit, cursor))
    return await tasks_out(session, part.rows), reads.next_cursor_of(part, reads.document_order)


# --- admin writes ---------------------------------------------------------------------------


def _invalid(field: str, reason: str) -> Problem:
    return Problem(422, f"{field}: {reason}", errors=[{"field": field, "message": reason}])


def _check_period(start: int, end: int, baseline: int) -> None:
    if start > end:
        raise _invalid("period_end", "the period ends before it starts")
    if baseline > end:
        raise _invalid("baseline_year", "the baseline year is after the period")


async def create_strategy(session: AsyncSession, principal: Principal, data: StrategyIn) -> StrategyDetail:
    """A strategy of its own, e.g. an agency's, cascading from `parent`; its tree is filled in afterwards."""
    require_admin(principal)
    _check_period(data.period_start, data.period_end, data.baseline_year)
    owner_id = await resolve_institution_id(session, data.owner) if data.owner else None
    row = Strategy(
        id=stable_id("strategy", data.key),
        key=data.key,
        title=required_text(data.title, "title"),
        period_start=data.period_start,
        period_end=data.period_end,
        baseline_year=data.baseline_year,
        parent_id=await resolve_strategy_id(session, data.parent) if data.parent else None,
        owner_id=owner_id,
        dates=[],
        footnote_numbers=[],
        sources=[],
    )
    await writes.save(session, principal, "strategy", row, None)
    await session.flush()
    return await get_strategy(session, row.id)


async def _locked_strategy(
    session: AsyncSession, strategy_id: uuid.UUID, if_match: str | None
) -> tuple[Strategy, StrategyDetail]:
    return await locked_at_version(
        session, Strategy, strategy_id, if_match, lambda _: get_strategy(session, strategy_id), what="strategy"
    )


async def update_strategy(
    session: AsyncSession, principal: Principal, strategy_id: uuid.UUID, data: StrategyPatch, if_match: str | None
) -> StrategyDetail:
    require_admin(principal)
    row, current = await _locked_strategy(session, strategy_id, if_match)
    document = {
        "key": row.key,
        "title": row.title,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "baseline_year": row.baseline_year,
        "parent": str(row.parent_id) if row.parent_id else None,
        "owner": current.owner.code if current.owner else None,
    }
    edit, changed = merge_patch.merged(StrategyIn, document, merge_patch.changes_of(data))
    before = writes.snapshot(row)
    if "title" in changed:
        row.title = required_text(edit.title, "title")
    for field in {"period_start", "period_end", "baseline_year"} & changed:
        setattr(row, field, getattr(edit, field))
    _check_period(row.period_start, row.period_end, row.baseline_year)
    await writes.save(session, principal, "strategy", row, before)
    await session.flush()
    return await get_strategy(session, row.id)


async def delete_strategy(
    session: AsyncSession, principal: Principal, strategy_id: uuid.UUID, if_match: str | None
) -> None:
    """Refused (409) while a strategy cascades from it or its indicators hold actuals."""
    require_admin(principal)
    row, _ = await _locked_strategy(session, strategy_id, if_match)
    await writes.remove(session, principal, "strategy", row)
    await session.flush()


async def update_indicator(
    session: AsyncSession, principal: Principal, indicator_id: uuid.UUID, data: IndicatorPatch, if_match: str | None
) -> IndicatorOut:
    require_admin(principal)
    row, _ = await locked_at_version(
        session, Indicator, indicator_id, if_match, lambda _: get_indicator(session, indicator_id), what="indicator"
    )
    document = {"name": row.name, "unit": row.unit, "direction": row.direction}
    edit, changed = merge_patch.merged(IndicatorEdit, document, merge_patch.changes_of(data))
    before = writes.snapshot(row)
    if "name" in changed:
        row.name = required_text(edit.name, "name")
    for field in {"unit", "direction"} & changed:
        setattr(row, field, getattr(edit, field))
    await writes.save(session, principal, "indicator", row, before)
    await session.flush()
    return await get_indicator(session, row.id)


async def get_task(session: AsyncSession, task_id: uuid.UUID) -> TaskOut:
    task = (await repository.tasks_by_ids(session, [task_id])).get(task_id)
    if task is None:
        raise NotFound("task", str(task_id))
    (out,) = await tasks_out(session, [task])
    return out


# The ETags GraphQL's `etag` fields serve, many at once through a DataLoader (the REST GETs' ETags).


async def indicator_etags(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = list((await repository.indicators_by_ids(session, ids)).values())
    return {row.id: etag_of_payload(out) for row, out in zip(rows, await indicators_out(session, rows), strict=True)}


async def task_etags(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = list((await repository.tasks_by_ids(session, ids)).values())
    return {row.id: etag_of_payload(out) for row, out in zip(rows, await tasks_out(session, rows), strict=True)}


async def update_task(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, data: TaskPatch, if_match: str | None
) -> TaskOut:
    """`text` merges (RFC 7396); `roles` sets the role of each institution it names."""
    require_admin(principal)
    task, _ = await locked_at_version(
        session, Task, task_id, if_match, lambda _: get_task(session, task_id), what="task"
    )
    changes = merge_patch.changes_of(data)
    changes.pop("roles", None)
    edit, changed = merge_patch.merged(TaskEdit, {"text": task.text}, changes)
    before = writes.snapshot(task)
    links = (await repository.task_institutions_by_task(session, [task.id]))[task.id]
    before["roles"] = {str(link.institution_id): link.role for link in links}
    if "text" in changed:
        task.text = required_text(edit.text, "text")
    for item in data.roles or []:
        institution_id = await resolve_institution_id(session, item.institution)
        link = next((link for link in links if link.institution_id == institution_id), None)
        if link is None:
            raise _invalid("roles", f"{item.institution} is not listed for this task")
        link.role = item.role
    roles = {"roles": {str(link.institution_id): link.role for link in links}}
    await writes.save(session, principal, "task", task, before, roles)
    await session.flush()
    return await get_task(session, task.id)
