"""Every SQL statement of the strategy domain.

The children of a level (`*_by_<parent>`) come as Core rows, read-only and grouped by parent: the read path
builds its answers from them. The rows an edit changes come as ORM objects (`*_by_ids`, `task_institutions_by_task`).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Row, Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.db import children_of, row_groups, rows_by_id, rows_by_parent
from service.core.pagination import KeysetOrder, Window
from service.strategy.models import (
    ActionDirection,
    Footnote,
    Goal,
    GoalInstitution,
    Indicator,
    IndicatorValue,
    PolicyArea,
    Strategy,
    SwotFactor,
    Task,
    TaskInstitution,
)

# The children of a level, for the read path: one statement text for any number of parents.
_AREAS = children_of(PolicyArea, "strategy_id", PolicyArea.position)
_GOALS = children_of(Goal, "area_id", Goal.number)
_GOAL_INSTITUTIONS = children_of(GoalInstitution, "goal_id", GoalInstitution.position)
_INDICATORS = children_of(Indicator, "goal_id", Indicator.number)
_VALUES = children_of(IndicatorValue, "indicator_id", IndicatorValue.institution_id.nulls_first(), IndicatorValue.year)
_ACTION_DIRECTIONS = children_of(ActionDirection, "area_id", ActionDirection.number)
_TASKS = children_of(Task, "action_direction_id", Task.position)
_TASK_INSTITUTIONS = children_of(TaskInstitution, "task_id", TaskInstitution.position)
_FOOTNOTES = children_of(Footnote, "strategy_id", Footnote.number)
_SWOT = children_of(SwotFactor, "strategy_id", SwotFactor.position)


async def list_strategies(session: AsyncSession) -> Sequence[Strategy]:
    return (await session.scalars(select(Strategy).order_by(Strategy.period_start, Strategy.key))).all()


STRATEGY_ORDER = KeysetOrder(((Strategy.period_start, False), (Strategy.key, False)), (int, str))
# Indicators and tasks in the document's order: the printed code's sort key, the id where two strategies share one.
INDICATOR_ORDER = KeysetOrder(((Indicator.sort_key, False), (Indicator.id, False)), (str, uuid.UUID))
TASK_ORDER = KeysetOrder(((Task.sort_key, False), (Task.id, False)), (str, uuid.UUID))
EVERY_ROW = Window(100_000)  # a whole listing read at once (an import, the reporting year): far above any strategy


async def page_strategies(session: AsyncSession, window: Window) -> Sequence[Strategy]:
    """One keyset window in (period_start, key) order (`STRATEGY_ORDER.select`: one row beyond it)."""
    return (await session.scalars(STRATEGY_ORDER.select(select(Strategy), window))).all()


async def count_strategies(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(Strategy))).scalar_one()


async def get_strategy_by_key(session: AsyncSession, key: str) -> Strategy | None:
    return (await session.scalars(select(Strategy).where(Strategy.key == key))).first()


async def strategies_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Strategy]:
    return await rows_by_id(session, Strategy, ids)


async def areas_by_strategy(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    return await row_groups(session, _AREAS, "strategy_id", ids)


async def areas_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PolicyArea]:
    return await rows_by_id(session, PolicyArea, ids)


async def goals_by_area(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    return await row_groups(session, _GOALS, "area_id", ids)


async def goals_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Goal]:
    return await rows_by_id(session, Goal, ids)


async def goal_institutions_by_goal(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    return await row_groups(session, _GOAL_INSTITUTIONS, "goal_id", ids)


async def indicators_by_goal(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    return await row_groups(session, _INDICATORS, "goal_id", ids)


async def indicator_with_strategy(session: AsyncSession, indicator_id: uuid.UUID) -> tuple[Indicator, Strategy] | None:
    stmt = (
        select(Indicator, Strategy)
        .join(Strategy, Strategy.id == Indicator.strategy_id)
        .where(Indicator.id == indicator_id)
    )
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def indicators_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Indicator]:
    return await rows_by_id(session, Indicator, ids)


async def indicators_by_code(session: AsyncSession, code: str, strategy_id: uuid.UUID | None) -> Sequence[Indicator]:
    """The indicators with this code: one per strategy that has it."""
    stmt = select(Indicator).where(Indicator.code == code)
    if strategy_id is not None:
        stmt = stmt.where(Indicator.strategy_id == strategy_id)
    return (await session.scalars(stmt.order_by(Indicator.strategy_id))).all()


async def values_by_indicator(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    return await row_groups(session, _VALUES, "indicator_id", ids)


async def action_directions_by_area(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    return await row_groups(session, _ACTION_DIRECTIONS, "area_id", ids)


async def action_directions_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ActionDirection]:
    return await rows_by_id(session, ActionDirection, ids)


async def tasks_by_action_direction(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    return await row_groups(session, _TASKS, "action_direction_id", ids)


async def tasks_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Task]:
    return await rows_by_id(session, Task, ids)


async def task_institutions_by_task(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[TaskInstitution]]:
    """The links an edit of the tasks' roles changes (ORM objects)."""
    return await rows_by_parent(session, TaskInstitution, "task_id", ids, (TaskInstitution.position,))


async def task_links_by_task(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    return await row_groups(session, _TASK_INSTITUTIONS, "task_id", ids)


async def footnotes_by_strategy(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    return await row_groups(session, _FOOTNOTES, "strategy_id", ids)


async def swot_by_strategy(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    return await row_groups(session, _SWOT, "strategy_id", ids)


@dataclass(frozen=True)
class IndicatorQuery:
    strategy_id: uuid.UUID | None = None
    area_code: str | None = None
    institution_id: uuid.UUID | None = None


def _indicators(query: IndicatorQuery, columns: Sequence = (Indicator,)) -> Select:
    stmt = select(*columns)
    if query.strategy_id is not None:
        stmt = stmt.where(Indicator.strategy_id == query.strategy_id)
    if query.area_code is not None:
        stmt = stmt.where(
            exists()
            .where(Goal.id == Indicator.goal_id)
            .where(PolicyArea.id == Goal.area_id)
            .where(PolicyArea.code == query.area_code)
        )
    if query.institution_id is not None:
        involved = (
            exists()
            .where(GoalInstitution.goal_id == Indicator.goal_id)
            .where(GoalInstitution.institution_id == query.institution_id)
        )
        own_values = (
            exists()
            .where(IndicatorValue.indicator_id == Indicator.id)
            .where(IndicatorValue.institution_id == query.institution_id)
        )
        stmt = stmt.where(or_(involved, own_values))
    return stmt


async def list_indicators(
    session: AsyncSession, query: IndicatorQuery, window: Window = EVERY_ROW
) -> Sequence[Indicator]:
    """One keyset window of the matching indicators in document order (one row beyond it); all by default."""
    return (await session.scalars(INDICATOR_ORDER.select(_indicators(query), window))).all()


async def count_indicators(session: AsyncSession, query: IndicatorQuery) -> int:
    return (
        await session.execute(select(func.count()).select_from(_indicators(query, [Indicator.id]).subquery()))
    ).scalar_one()


@dataclass(frozen=True)
class TaskQuery:
    strategy_id: uuid.UUID | None = None
    area_code: str | None = None
    action_direction_id: uuid.UUID | None = None
    institution_id: uuid.UUID | None = None


def _tasks(query: TaskQuery, columns: Sequence = (Task,)) -> Select:
    stmt = select(*columns)
    if query.strategy_id is not None:
        stmt = stmt.where(Task.strategy_id == query.strategy_id)
    if query.action_direction_id is not None:
        stmt = stmt.where(Task.action_direction_id == query.action_direction_id)
    if query.area_code is not None:
        stmt = stmt.where(
            exists()
            .where(ActionDirection.id == Task.action_direction_id)
            .where(PolicyArea.id == ActionDirection.area_id)
            .where(PolicyArea.code == query.area_code)
        )
    if query.institution_id is not None:
        stmt = stmt.where(
            exists()
            .where(TaskInstitution.task_id == Task.id)
            .where(TaskInstitution.institution_id == query.institution_id)
        )
    return stmt


async def list_tasks(session: AsyncSession, query: TaskQuery, window: Window) -> Sequence[Task]:
    """One keyset window of the matching tasks in document order (one row beyond it)."""
    return (await session.scalars(TASK_ORDER.select(_tasks(query), window))).all()


async def count_tasks(session: AsyncSession, query: TaskQuery) -> int:
    return (await session.execute(select(func.count()).select_from(_tasks(query, [Task.id]).subquery()))).scalar_one()
