"""The strategy's one read path: the rows of a subtree, level by level, for REST and GraphQL alike.

A caller names the rows it starts from (strategies, goals, indicators or tasks) and the parts of the tree below
them it needs (`Part`s: REST a route's fixed shape, GraphQL what the operation selected). Each level asked for
costs one statement for all its parents, whatever the data's size, and the institutions every level names come
in one more. The answer is `Loaded`: Core rows grouped by parent, from which each API maps its output types.
"""

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.core.errors import NotFound
from service.core.pagination import Slice, Window, encode_cursor
from service.registry import repository as registry
from service.strategy import repository
from service.strategy.models import Strategy


class Part(StrEnum):
    """A part of the tree below the rows a read starts from."""

    areas = "areas"
    goals = "goals"  # of the areas
    goal_institutions = "goal_institutions"
    indicators = "indicators"  # of the goals
    values = "values"  # baseline and targets of the indicators
    directions = "directions"  # action directions of the areas
    tasks = "tasks"  # of the action directions
    task_institutions = "task_institutions"
    footnotes = "footnotes"  # the texts of the footnotes every row loaded cites
    swot = "swot"
    institutions = "institutions"  # the institutions every row loaded names
    actuals = "actuals"  # the indicators' current revisions (the measurements domain's)
    progress = "progress"  # the indicators' progress (the measurements domain's)


Parts = frozenset[Part]

INDICATOR = frozenset({Part.values, Part.footnotes, Part.institutions})
TASK = frozenset({Part.task_institutions, Part.footnotes, Part.institutions})
GOAL = frozenset({Part.goal_institutions, Part.indicators, Part.institutions}) | INDICATOR
WHOLE_TREE = (
    frozenset({Part.areas, Part.goals, Part.directions, Part.tasks, Part.swot}) | GOAL | TASK
)  # REST's `GET /strategies/{id}`


@dataclass
class Loaded:
    """The rows of a read, grouped by parent id; a part not asked for stays empty."""

    parts: Parts = frozenset()
    strategies: dict[uuid.UUID, Any] = field(default_factory=dict)
    indicator_rows: list = field(default_factory=list)  # every indicator loaded, the read's own and the tree's
    areas: dict[uuid.UUID, list] = field(default_factory=lambda: defaultdict(list))
    goals: dict[uuid.UUID, list] = field(default_factory=lambda: defaultdict(list))
    goal_institutions: dict[uuid.UUID, list] = field(default_factory=lambda: defaultdict(list))
    indicators: dict[uuid.UUID, list] = field(default_factory=lambda: defaultdict(list))
    values: dict[uuid.UUID, list] = field(default_factory=lambda: defaultdict(list))
    directions: dict[uuid.UUID, list] = field(default_factory=lambda: defaultdict(list))
    tasks: dict[uuid.UUID, list] = field(default_factory=lambda: defaultdict(list))
    task_institutions: dict[uuid.UUID, list] = field(default_factory=lambda: defaultdict(list))
    footnotes: dict[uuid.UUID, dict[int, Any]] = field(default_factory=lambda: defaultdict(dict))  # by strategy
    swot: dict[uuid.UUID, list] = field(default_factory=lambda: defaultdict(list))
    institutions: dict[uuid.UUID, Any] = field(default_factory=dict)
    # Filled by the measurements domain's reads (`measurements.reads.add_measurements`), by indicator.
    actuals: dict[uuid.UUID, list] = field(default_factory=lambda: defaultdict(list))
    official: dict[uuid.UUID, list] = field(default_factory=lambda: defaultdict(list))
    assessments: dict[uuid.UUID, list] = field(default_factory=lambda: defaultdict(list))
    _views: dict[tuple, Any] = field(default_factory=dict, repr=False)

    def footnotes_of(self, strategy_id: uuid.UUID, numbers: Sequence[int]) -> list:
        notes = self.footnotes.get(strategy_id, {})
        return [notes[n] for n in numbers if n in notes]

    def institution(self, institution_id: uuid.UUID | None) -> Any:
        return self.institutions.get(institution_id) if institution_id is not None else None

    def view(self, output: Any, institution_id: uuid.UUID | None) -> Any:
        """`output.of(row)` of a loaded institution, made once per read and shared by every row naming it
        (an API's output objects are plain data: sharing one is as good as copying it)."""
        if institution_id is None:
            return None
        key = (output, institution_id)
        if key not in self._views:
            row = self.institutions.get(institution_id)
            self._views[key] = output.of(row) if row is not None else None
        return self._views[key]

    def missing_institutions(self, ids: Iterable[uuid.UUID | None]) -> list[uuid.UUID]:
        return list({i for i in ids if i is not None and i not in self.institutions})

    async def add_institutions(self, session: AsyncSession, ids: Iterable[uuid.UUID | None]) -> None:
        """The institutions of these ids not loaded yet, in one statement (none when all are)."""
        if missing := self.missing_institutions(ids):
            self.institutions.update(await registry.institutions_by_ids(session, missing))


def _flat(grouped: dict[uuid.UUID, list]) -> list:
    return [row for rows in grouped.values() for row in rows]


async def load(
    session: AsyncSession,
    parts: Parts,
    *,
    strategies: Sequence[Any] = (),
    areas: Sequence[Any] = (),
    goals: Sequence[Any] = (),
    indicators: Sequence[Any] = (),
    directions: Sequence[Any] = (),
    tasks: Sequence[Any] = (),
) -> Loaded:
    """The parts asked for below the given rows (which the caller has read: a page, ids, a filter)."""
    loaded = Loaded(parts=parts, strategies={row.id: row for row in strategies})
    if Part.areas in parts and strategies:
        loaded.areas = await repository.areas_by_strategy(session, list(loaded.strategies))
    area_ids = [area.id for area in (*areas, *_flat(loaded.areas))]
    goal_rows = list(goals)
    if Part.goals in parts and area_ids:
        loaded.goals = await repository.goals_by_area(session, area_ids)
        goal_rows += _flat(loaded.goals)
    goal_ids = [goal.id for goal in goal_rows]
    if Part.goal_institutions in parts and goal_ids:
        loaded.goal_institutions = await repository.goal_institutions_by_goal(session, goal_ids)
    indicator_rows = list(indicators)
    if Part.indicators in parts and goal_ids:
        loaded.indicators = await repository.indicators_by_goal(session, goal_ids)
        indicator_rows += _flat(loaded.indicators)
    loaded.indicator_rows = indicator_rows
    if Part.values in parts and indicator_rows:
        loaded.values = await repository.values_by_indicator(session, [row.id for row in indicator_rows])
    if Part.directions in parts and area_ids:
        loaded.directions = await repository.action_directions_by_area(session, area_ids)
    task_rows = list(tasks)
    direction_ids = [direction.id for direction in (*directions, *_flat(loaded.directions))]
    if Part.tasks in parts and direction_ids:
        loaded.tasks = await repository.tasks_by_action_direction(session, direction_ids)
        task_rows += _flat(loaded.tasks)
    if Part.task_institutions in parts and task_rows:
        loaded.task_institutions = await repository.task_links_by_task(session, [row.id for row in task_rows])
    if Part.footnotes in parts:
        strategy_ids = {*loaded.strategies, *(row.strategy_id for row in (*indicator_rows, *task_rows))}
        if strategy_ids:
            grouped = await repository.footnotes_by_strategy(session, list(strategy_ids))
            loaded.footnotes.update({sid: {note.number: note for note in notes} for sid, notes in grouped.items()})
    if Part.swot in parts and strategies:
        loaded.swot = await repository.swot_by_strategy(session, list(loaded.strategies))
    if Part.institutions in parts:
        ids = [row.owner_id for row in strategies]
        ids += [link.institution_id for link in _flat(loaded.goal_institutions)]
        ids += [link.institution_id for link in _flat(loaded.task_institutions)]
        ids += [value.institution_id for value in _flat(loaded.values)]
        await loaded.add_institutions(session, ids)
    return loaded


# --- the rows a read starts from -------------------------------------------------------------------------


async def strategy(session: AsyncSession, strategy_id: uuid.UUID) -> Strategy:
    found = (await repository.strategies_by_ids(session, [strategy_id])).get(strategy_id)
    if found is None:
        raise NotFound("strategy", str(strategy_id))
    return found


def strategy_sort_key(strategy: Strategy) -> list:
    return [strategy.period_start, strategy.key]


def document_order(row: Any) -> list:
    return [row.sort_key, str(row.id)]


def next_cursor_of(part: Slice, key: Callable[[Any], list]) -> str | None:
    """A forward page's cursor for REST's `next_cursor`: its last row's key, where more rows follow."""
    return encode_cursor(key(part.rows[-1])) if part.has_next else None


async def page_strategies(session: AsyncSession, window: Window) -> Slice[Strategy]:
    return Slice.of(await repository.page_strategies(session, window), window)


async def count_strategies(session: AsyncSession) -> int:
    return await repository.count_strategies(session)


async def strategies_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Strategy]:
    return await repository.strategies_by_ids(session, ids)


async def areas_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    return await repository.areas_by_ids(session, ids)


async def directions_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    return await repository.action_directions_by_ids(session, ids)


async def goals_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    return await repository.goals_by_ids(session, ids)


async def indicators_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    return await repository.indicators_by_ids(session, ids)


async def tasks_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    return await repository.tasks_by_ids(session, ids)


async def page_indicators(session: AsyncSession, query: repository.IndicatorQuery, window: Window) -> Slice[Any]:
    return Slice.of(await repository.list_indicators(session, query, window), window)


async def page_tasks(session: AsyncSession, query: repository.TaskQuery, window: Window) -> Slice[Any]:
    return Slice.of(await repository.list_tasks(session, query, window), window)


async def count_indicators(session: AsyncSession, query: repository.IndicatorQuery) -> int:
    return await repository.count_indicators(session, query)


async def count_tasks(session: AsyncSession, query: repository.TaskQuery) -> int:
    return await repository.count_tasks(session, query)
