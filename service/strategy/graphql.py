"""The strategy in GraphQL: the navigable tree, read once at the root field through the read path (`reads.load`)
for the parts the operation selected; below the root, fields are plain attributes of the objects built here."""

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from service.core.errors import BadRequest, quoted
from service.core.graphql import Context
from service.core.graphql_cost import PAGE_OF_FIRST, at_most
from service.core.graphql_types import (
    ETAG_DESCRIPTION,
    IfMatchArgument,
    LocalizedText,
    LocalizedTextInput,
    PageInfo,
    Selection,
    check_first,
    if_match_of,
    validated_input,
)
from service.core.pagination import MAX_LIMIT, encode_cursor
from service.registry.graphql import Institution
from service.strategy import models, reads, service
from service.strategy.reads import Loaded, Part, Parts
from service.strategy.schemas import IndicatorPatch, TaskInstitutionRoleIn, TaskPatch
from service.strategy.values import published

if TYPE_CHECKING:
    from service.measurements.graphql import Actual, Progress

# A whole tree per strategy costs hundreds of objects, so the default page is the old list's bound.
STRATEGIES_PAGE = 20

AreaKind = strawberry.enum(models.AreaKind)
Direction = strawberry.enum(models.Direction)
ValueKind = strawberry.enum(models.ValueKind)
ValueRole = strawberry.enum(models.ValueRole)
TaskRole = strawberry.enum(models.TaskRole)


def _id(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


def _parse_id(value: strawberry.ID, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise BadRequest(f"{quoted(value)} is not a {what} id.") from None


@strawberry.type
class Footnote:
    number: int
    text: str


def _footnotes(loaded: Loaded, strategy_id: uuid.UUID, numbers: list[int]) -> list[Footnote]:
    return [Footnote(number=note.number, text=note.text) for note in loaded.footnotes_of(strategy_id, numbers)]


def _institution(loaded: Loaded, institution_id: uuid.UUID | None) -> Institution | None:
    """The GraphQL object of a loaded institution, built once per read however many rows name it."""
    return loaded.view(Institution, institution_id)


@strawberry.type
class DatedStatement:
    date: str
    kind: str
    text: LocalizedText | None


@strawberry.type
class SwotFactor:
    kind: str
    text: LocalizedText


@strawberry.type(description="The baseline actual or a target, as printed and typed.")
class IndicatorValue:
    year: int
    role: ValueRole
    text: str = strawberry.field(description="As printed: `29,72`, `75%`, `29/2195`, `+10%`, `Palielinās`, `-`.")
    kind: ValueKind
    value: float | None = strawberry.field(description="The number; the percentage for percent and change values.")
    pair: list[float] | None = strawberry.field(description="Both numbers of a pair value (units / days).")
    institution: Institution | None = strawberry.field(
        description="Set where the indicator has a value per institution."
    )
    footnotes: list[Footnote] = strawberry.field(metadata=at_most(5))

    @classmethod
    def of(cls, row: Row, strategy_id: uuid.UUID, loaded: Loaded) -> "IndicatorValue":
        value, pair = published(row.number, row.second)
        return cls(
            year=row.year,
            role=row.role,
            text=row.text,
            kind=row.kind,
            value=value,
            pair=pair,
            institution=_institution(loaded, row.institution_id),
            footnotes=_footnotes(loaded, strategy_id, row.footnote_numbers),
        )


@strawberry.type
class Indicator:
    id: strawberry.ID
    code: str = strawberry.field(description="area.goal.indicator, e.g. 2.2.2 or H1.1.1")
    name: LocalizedText
    unit: str
    direction: Direction
    updated_at: dt.datetime
    baseline: list[IndicatorValue] = strawberry.field(
        description="The baseline year's actual; one per institution where the document gives them.",
        metadata=at_most(15),
    )
    targets: list[IndicatorValue] = strawberry.field(
        description="The yearly targets; per institution where the document gives them.", metadata=at_most(60)
    )
    footnotes: list[Footnote] = strawberry.field(metadata=at_most(5))
    # Actuals and progress belong to the measurements domain, to the right of this one; GraphQL types
    # cannot be extended after definition, so their types and mapping are reached through lazy imports.
    actuals: list[Annotated["Actual", strawberry.lazy("service.measurements.graphql")]] = strawberry.field(
        description="The current revision of every year's actual (and institution's).", metadata=at_most(60)
    )
    progress: list[Annotated["Progress", strawberry.lazy("service.measurements.graphql")]] = strawberry.field(
        description="Target, official actual and status for every target year.", metadata=at_most(60)
    )
    row_id: strawberry.Private[uuid.UUID]
    goal_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: Row | models.Indicator, loaded: Loaded) -> "Indicator":
        values = [IndicatorValue.of(v, row.strategy_id, loaded) for v in loaded.values.get(row.id, ())]
        actuals: list = []
        progress: list = []
        if loaded.parts & MEASURED:
            from service.measurements.graphql import actuals_of, progress_of

            actuals = actuals_of(loaded, row) if Part.actuals in loaded.parts else []
            progress = progress_of(loaded, row) if Part.progress in loaded.parts else []
        return cls(
            id=_id(row.id),
            code=row.code,
            name=LocalizedText.of(row.name),
            unit=row.unit,
            direction=row.direction,
            updated_at=row.updated_at,
            baseline=[v for v in values if v.role == models.ValueRole.baseline],
            targets=[v for v in values if v.role == models.ValueRole.target],
            footnotes=_footnotes(loaded, row.strategy_id, row.footnote_numbers),
            actuals=actuals,
            progress=progress,
            row_id=row.id,
            goal_id=row.goal_id,
        )

    @strawberry.field
    async def goal(self, info: Info[Context, None]) -> "Goal":
        return await info.context.loader(GoalsWith(asked_parts(info, _goal_parts))).load(self.goal_id)

    @strawberry.field(description=ETAG_DESCRIPTION)
    async def etag(self, info: Info[Context, None]) -> str:
        return await info.context.loader(service.indicator_etags).load(self.row_id)


@strawberry.type
class Goal:
    id: strawberry.ID
    number: int
    title: LocalizedText
    institutions_text: str | None = strawberry.field(
        description="The involved institutions as the document writes them."
    )
    institutions: list[Institution] = strawberry.field(
        description="The involved institutions, in the document's order.", metadata=at_most(12)
    )
    indicators: list[Indicator] = strawberry.field(metadata=at_most(8))

    @classmethod
    def of(cls, row: Row | models.Goal, loaded: Loaded) -> "Goal":
        links = loaded.goal_institutions.get(row.id, ())
        return cls(
            id=_id(row.id),
            number=row.number,
            title=LocalizedText.of(row.title),
            institutions_text=row.institutions_text,
            institutions=[i for link in links if (i := _institution(loaded, link.institution_id)) is not None],
            indicators=[Indicator.of(i, loaded) for i in loaded.indicators.get(row.id, ())],
        )


@strawberry.type
class TaskInstitution:
    written_as: str
    role: TaskRole | None = strawberry.field(description="responsible | involved; null until an administrator sets it.")
    institution: Institution


@strawberry.type
class Task:
    id: strawberry.ID
    number: str = strawberry.field(description="As printed: `1.`, `1.1.`, `a.`")
    parent_number: str | None
    text: LocalizedText
    updated_at: dt.datetime
    institutions: list[Institution] = strawberry.field(
        description="The institutions listed after the task, in the printed order.", metadata=at_most(16)
    )
    institution_roles: list[TaskInstitution] = strawberry.field(
        description="The listed institutions with how the document writes them and their role.", metadata=at_most(16)
    )
    footnotes: list[Footnote] = strawberry.field(metadata=at_most(5))
    row_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: Row | models.Task, loaded: Loaded) -> "Task":
        roles = [
            TaskInstitution(written_as=link.written_as, role=link.role, institution=institution)
            for link in loaded.task_institutions.get(row.id, ())
            if (institution := _institution(loaded, link.institution_id)) is not None
        ]
        return cls(
            id=_id(row.id),
            number=row.number,
            parent_number=row.parent_number,
            text=LocalizedText.of(row.text),
            updated_at=row.updated_at,
            institutions=[role.institution for role in roles],
            institution_roles=roles,
            footnotes=_footnotes(loaded, row.strategy_id, row.footnote_numbers),
            row_id=row.id,
        )

    @strawberry.field(description=ETAG_DESCRIPTION)
    async def etag(self, info: Info[Context, None]) -> str:
        return await info.context.loader(service.task_etags).load(self.row_id)


@strawberry.type
class ActionDirection:
    id: strawberry.ID
    number: int
    title: LocalizedText
    tasks: list[Task] = strawberry.field(metadata=at_most(10))

    @classmethod
    def of(cls, row: Row, loaded: Loaded) -> "ActionDirection":
        tasks = [Task.of(task, loaded) for task in loaded.tasks.get(row.id, ())]
        return cls(id=_id(row.id), number=row.number, title=LocalizedText.of(row.title), tasks=tasks)


@strawberry.type
class PolicyArea:
    id: strawberry.ID
    number: int = strawberry.field(description="Position in the document.")
    code: str = strawberry.field(description="`1`…`5` for policy areas, `H1`, `H2` for horizontal priority goals")
    kind: AreaKind
    title: LocalizedText
    goals: list[Goal] = strawberry.field(metadata=at_most(4))
    action_directions: list[ActionDirection] = strawberry.field(metadata=at_most(8))

    @classmethod
    def of(cls, row: Row, loaded: Loaded) -> "PolicyArea":
        return cls(
            id=_id(row.id),
            number=row.position,
            code=row.code,
            kind=row.kind,
            title=LocalizedText.of(row.title),
            goals=[Goal.of(goal, loaded) for goal in loaded.goals.get(row.id, ())],
            action_directions=[ActionDirection.of(d, loaded) for d in loaded.directions.get(row.id, ())],
        )


@strawberry.type
class Strategy:
    id: strawberry.ID
    key: str
    title: LocalizedText
    period_start: int
    period_end: int
    baseline_year: int
    dates: list[DatedStatement] = strawberry.field(metadata=at_most(6))
    updated_at: dt.datetime
    areas: list[PolicyArea] = strawberry.field(metadata=at_most(10))
    footnotes: list[Footnote] = strawberry.field(
        description="The footnotes on the strategy's own text.", metadata=at_most(12)
    )
    swot: list[SwotFactor] = strawberry.field(
        description="Strengths, weaknesses, opportunities and threats of the environment analysis.",
        metadata=at_most(24),
    )

    owner: Institution | None = strawberry.field(
        description="The institution whose own strategy this is; null for the sector strategy."
    )
    parent_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def of(cls, row: models.Strategy, loaded: Loaded) -> "Strategy":
        dates = [
            DatedStatement(date=d["date"], kind=d["kind"], text=LocalizedText.of(d.get("text"))) for d in row.dates
        ]
        return cls(
            id=_id(row.id),
            key=row.key,
            title=LocalizedText.of(row.title),
            period_start=row.period_start,
            period_end=row.period_end,
            baseline_year=row.baseline_year,
            dates=dates,
            updated_at=row.updated_at,
            areas=[PolicyArea.of(area, loaded) for area in loaded.areas.get(row.id, ())],
            footnotes=_footnotes(loaded, row.id, row.footnote_numbers),
            swot=[SwotFactor(kind=f.kind, text=LocalizedText.of(f.text)) for f in loaded.swot.get(row.id, ())],
            owner=_institution(loaded, row.owner_id),
            parent_id=row.parent_id,
        )

    @strawberry.field(description="The strategy this one cascades from.")
    async def parent(self, info: Info[Context, None]) -> "Strategy | None":
        if self.parent_id is None:
            return None
        return await info.context.loader(StrategiesWith(asked_parts(info, _strategy_parts))).load(self.parent_id)


# --- what was asked, as the parts of the tree the read path loads -------------------------------------------

MEASURED = frozenset({Part.actuals, Part.progress})
Walk = Callable[[Selection, set[Part]], None]


def _strategy_parts(asked: Selection, parts: set[Part]) -> None:
    if "areas" in asked:
        parts.add(Part.areas)
        _area_parts(asked.get("areas"), parts)
    if "footnotes" in asked:
        parts.add(Part.footnotes)
    if "swot" in asked:
        parts.add(Part.swot)
    if "owner" in asked:
        parts.add(Part.institutions)


def _area_parts(asked: Selection, parts: set[Part]) -> None:
    if "goals" in asked:
        parts.add(Part.goals)
        _goal_parts(asked.get("goals"), parts)
    if "actionDirections" in asked:
        parts.add(Part.directions)
        if "tasks" in asked.get("actionDirections"):
            parts.add(Part.tasks)
            _task_parts(asked.get("actionDirections").get("tasks"), parts)


def _goal_parts(asked: Selection, parts: set[Part]) -> None:
    if "institutions" in asked:
        parts |= {Part.goal_institutions, Part.institutions}
    if "indicators" in asked:
        parts.add(Part.indicators)
        _indicator_parts(asked.get("indicators"), parts)


def _indicator_parts(asked: Selection, parts: set[Part]) -> None:
    for name in ("baseline", "targets"):
        if name in asked:
            parts.add(Part.values)
            parts |= {Part.institutions} if "institution" in asked.get(name) else set()
            parts |= {Part.footnotes} if "footnotes" in asked.get(name) else set()
    if "footnotes" in asked:
        parts.add(Part.footnotes)
    for name, part in (("actuals", Part.actuals), ("progress", Part.progress)):
        if name in asked:
            parts.add(part)
            parts |= {Part.institutions} if "institution" in asked.get(name) else set()
    if "progress" in asked:
        parts.add(Part.values)  # the targets and baselines progress is measured between


def _task_parts(asked: Selection, parts: set[Part]) -> None:
    if "institutions" in asked or "institutionRoles" in asked:
        parts |= {Part.task_institutions, Part.institutions}
    if "footnotes" in asked:
        parts.add(Part.footnotes)


def asked_parts(info: Info[Context, None], walk: Walk, *path: str) -> Parts:
    """The parts of the tree the field's selection (below `path`, e.g. a connection's edges.node) needs."""
    asked: Selection | None = Selection.of(info)
    for name in path:
        asked = asked.get(name) if asked is not None else None
    parts: set[Part] = set()
    if asked is not None:
        walk(asked, parts)
    return frozenset(parts)


async def read(session: AsyncSession, parts: Parts, **rows: Sequence) -> Loaded:
    """The strategy's read path, and the measurements domain's part of it where actuals or progress are asked."""
    loaded = await reads.load(session, parts, **rows)
    if parts & MEASURED:
        from service.measurements.reads import add_measurements

        await add_measurements(session, loaded, parts, loaded.indicator_rows)
    return loaded


@dataclass(frozen=True)
class StrategiesWith:
    """A DataLoader's batch: strategies by id with the parts asked (equal parts share a loader)."""

    parts: Parts

    async def __call__(self, session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Strategy]:
        rows = await reads.strategies_by_ids(session, ids)
        loaded = await read(session, self.parts, strategies=list(rows.values()))
        return {strategy_id: Strategy.of(row, loaded) for strategy_id, row in rows.items()}


@dataclass(frozen=True)
class GoalsWith:
    """A DataLoader's batch: goals by id with the parts asked (a standalone indicator's goal)."""

    parts: Parts

    async def __call__(self, session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Goal]:
        rows = await reads.goals_by_ids(session, ids)
        loaded = await read(session, self.parts, goals=list(rows.values()))
        return {goal_id: Goal.of(row, loaded) for goal_id, row in rows.items()}


@strawberry.type
class StrategyEdge:
    cursor: str
    node: Strategy


@strawberry.type
class StrategyConnection:
    edges: list[StrategyEdge] = strawberry.field(metadata=PAGE_OF_FIRST)
    page_info: PageInfo

    @strawberry.field(description="How many strategies there are, on all pages.")
    async def total_count(self, info: Info[Context, None]) -> int:
        return await info.context.run(reads.count_strategies)


@strawberry.input
class IndicatorFilter:
    strategy: str | None = strawberry.field(default=None, description="Strategy id or key.")
    area: str | None = strawberry.field(default=None, description="Policy area code: 1…5, H1, H2.")
    institution: str | None = strawberry.field(
        default=None, description="Indicators of goals this institution is involved in, or with its own values."
    )


@strawberry.input
class TaskFilter:
    strategy: str | None = None
    area: str | None = None
    institution: str | None = strawberry.field(default=None, description="Tasks listing this institution.")


@strawberry.type
class StrategyQuery:
    # One sector strategy today; each institution may own one that cascades from it.
    @strawberry.field(description="Strategies by period start, then key, a Relay page at a time.")
    async def strategies(
        self, info: Info[Context, None], first: int = STRATEGIES_PAGE, after: str | None = None
    ) -> StrategyConnection:
        check_first(first)
        rows, next_cursor = await info.context.run(reads.page_strategies, first, after)
        loaded = await info.context.run(read, asked_parts(info, _strategy_parts, "edges", "node"), strategies=rows)
        edges = [
            StrategyEdge(cursor=encode_cursor(reads.strategy_sort_key(row)), node=Strategy.of(row, loaded))
            for row in rows
        ]
        page_info = PageInfo(has_next_page=next_cursor is not None, end_cursor=edges[-1].cursor if edges else None)
        return StrategyConnection(edges=edges, page_info=page_info)

    @strawberry.field
    async def strategy(self, info: Info[Context, None], id: strawberry.ID) -> Strategy | None:
        strategy_id = _parse_id(id, "strategy")
        return await info.context.loader(StrategiesWith(asked_parts(info, _strategy_parts))).load(strategy_id)

    @strawberry.field
    async def indicator(self, info: Info[Context, None], id: strawberry.ID) -> Indicator | None:
        indicator_id = _parse_id(id, "indicator")
        return (await _indicators(info, [indicator_id]))[0]

    @strawberry.field(description=f"Indicators in document order (at most {MAX_LIMIT}).", metadata=at_most(MAX_LIMIT))
    async def indicators(self, info: Info[Context, None], filter: IndicatorFilter | None = None) -> list[Indicator]:
        f = filter or IndicatorFilter()
        query = await info.context.run(
            service.indicator_query, strategy=f.strategy, area=f.area, institution=f.institution
        )
        rows, _ = await info.context.run(reads.page_indicators, query, MAX_LIMIT, None)
        loaded = await info.context.run(read, asked_parts(info, _indicator_parts), indicators=rows)
        return [Indicator.of(row, loaded) for row in rows]

    @strawberry.field(description=f"Tasks in document order (at most {MAX_LIMIT}).", metadata=at_most(MAX_LIMIT))
    async def tasks(self, info: Info[Context, None], filter: TaskFilter | None = None) -> list[Task]:
        f = filter or TaskFilter()
        query = await info.context.run(
            service.task_query, strategy=f.strategy, area=f.area, action_direction=None, institution=f.institution
        )
        rows, _ = await info.context.run(reads.page_tasks, query, MAX_LIMIT, None)
        loaded = await info.context.run(read, asked_parts(info, _task_parts), tasks=rows)
        return [Task.of(row, loaded) for row in rows]


async def _indicators(info: Info[Context, None], ids: list[uuid.UUID]) -> list[Indicator | None]:
    """Indicators by id (None where there is none), with what the field's selection asks."""
    found = await info.context.run(reads.indicators_by_ids, ids)
    rows = [found[i] for i in ids if i in found]
    loaded = await info.context.run(read, asked_parts(info, _indicator_parts), indicators=rows)
    return [Indicator.of(found[i], loaded) if i in found else None for i in ids]


async def _task(info: Info[Context, None], task_id: uuid.UUID) -> Task:
    rows = list((await info.context.run(reads.tasks_by_ids, [task_id])).values())
    loaded = await info.context.run(read, asked_parts(info, _task_parts), tasks=rows)
    return Task.of(rows[0], loaded)


@strawberry.input
class TaskRoleInput:
    institution: str
    role: TaskRole | None


@strawberry.input(description="A merge patch: a field left out keeps its value, null removes it.")
class IndicatorPatchInput:
    name: LocalizedTextInput | None = strawberry.UNSET
    unit: str | None = strawberry.UNSET
    direction: Direction | None = strawberry.UNSET


@strawberry.type
class StrategyMutation:
    @strawberry.mutation(description="Admin: set the roles of a task's listed institutions (responsible / involved).")
    async def set_task_roles(
        self,
        info: Info[Context, None],
        task_id: strawberry.ID,
        roles: list[TaskRoleInput],
        if_match: IfMatchArgument = None,
    ) -> Task:
        principal = await info.context.writer()
        patch = TaskPatch(roles=[TaskInstitutionRoleIn(institution=r.institution, role=r.role) for r in roles])
        task_id = _parse_id(task_id, "task")
        await info.context.run(service.update_task, principal, task_id, patch, if_match_of(if_match))
        return await _task(info, task_id)

    @strawberry.mutation(description="Admin: correct an indicator's name, unit or direction (a merge patch).")
    async def update_indicator(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        input: IndicatorPatchInput,
        if_match: IfMatchArgument = None,
    ) -> Indicator:
        principal = await info.context.writer()
        patch = validated_input(IndicatorPatch, input)
        indicator_id = _parse_id(id, "indicator")
        await info.context.run(service.update_indicator, principal, indicator_id, patch, if_match_of(if_match))
        (indicator,) = await _indicators(info, [indicator_id])
        return indicator
