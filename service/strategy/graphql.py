"""The strategy in GraphQL: the navigable tree, every level batched by a per-request DataLoader."""

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated

import strawberry
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
    check_first,
    if_match_of,
    validated_input,
)
from service.core.pagination import MAX_LIMIT, encode_cursor
from service.registry.graphql import Institution, load_institution, load_institutions
from service.strategy import models, repository, service
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


async def load_footnotes(info: Info[Context, None], strategy_id: uuid.UUID, numbers: list[int]) -> list[Footnote]:
    if not numbers:
        return []
    notes = await info.context.loader(repository.footnotes_by_strategy, missing=list).load(strategy_id)
    by_number = {note.number: note for note in notes}
    return [Footnote(number=n, text=by_number[n].text) for n in numbers if n in by_number]


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
    institution_id: strawberry.Private[uuid.UUID | None]
    strategy_id: strawberry.Private[uuid.UUID]
    footnote_numbers: strawberry.Private[list[int]]

    @classmethod
    def of(cls, row: models.IndicatorValue, strategy_id: uuid.UUID) -> "IndicatorValue":
        value, pair = published(row.number, row.second)
        return cls(
            year=row.year,
            role=row.role,
            text=row.text,
            kind=row.kind,
            value=value,
            pair=pair,
            institution_id=row.institution_id,
            strategy_id=strategy_id,
            footnote_numbers=row.footnote_numbers,
        )

    @strawberry.field(description="Set where the indicator has a value per institution.")
    async def institution(self, info: Info[Context, None]) -> Institution | None:
        return await load_institution(info, self.institution_id)

    @strawberry.field(metadata=at_most(5))
    async def footnotes(self, info: Info[Context, None]) -> list[Footnote]:
        return await load_footnotes(info, self.strategy_id, self.footnote_numbers)


@strawberry.type
class Indicator:
    id: strawberry.ID
    code: str = strawberry.field(description="area.goal.indicator, e.g. 2.2.2 or H1.1.1")
    name: LocalizedText
    unit: str
    direction: Direction
    updated_at: dt.datetime
    row: strawberry.Private[models.Indicator]

    @classmethod
    def of(cls, row: models.Indicator) -> "Indicator":
        return cls(
            id=_id(row.id),
            code=row.code,
            name=LocalizedText.of(row.name),
            unit=row.unit,
            direction=row.direction,
            updated_at=row.updated_at,
            row=row,
        )

    async def _values(self, info: Info[Context, None], role: models.ValueRole) -> list[IndicatorValue]:
        rows = await info.context.loader(repository.values_by_indicator, missing=list).load(self.row.id)
        return [IndicatorValue.of(v, self.row.strategy_id) for v in rows if v.role == role]

    @strawberry.field(
        description="The baseline year's actual; one per institution where the document gives them.",
        metadata=at_most(15),
    )
    async def baseline(self, info: Info[Context, None]) -> list[IndicatorValue]:
        return await self._values(info, models.ValueRole.baseline)

    @strawberry.field(
        description="The yearly targets; per institution where the document gives them.", metadata=at_most(60)
    )
    async def targets(self, info: Info[Context, None]) -> list[IndicatorValue]:
        return await self._values(info, models.ValueRole.target)

    @strawberry.field(metadata=at_most(5))
    async def footnotes(self, info: Info[Context, None]) -> list[Footnote]:
        return await load_footnotes(info, self.row.strategy_id, self.row.footnote_numbers)

    # Actuals and progress belong to the measurements domain, to the right of this one; GraphQL types
    # cannot be extended after definition, so these two fields reach it through lazy imports.
    @strawberry.field(
        description="The current revision of every year's actual (and institution's).", metadata=at_most(60)
    )
    async def actuals(
        self, info: Info[Context, None]
    ) -> list[Annotated["Actual", strawberry.lazy("service.measurements.graphql")]]:
        from service.measurements.graphql import indicator_actuals

        return await indicator_actuals(info, self.row)

    @strawberry.field(description="Target, official actual and status for every target year.", metadata=at_most(60))
    async def progress(
        self, info: Info[Context, None]
    ) -> list[Annotated["Progress", strawberry.lazy("service.measurements.graphql")]]:
        from service.measurements.graphql import indicator_progress

        return await indicator_progress(info, self.row)

    @strawberry.field
    async def goal(self, info: Info[Context, None]) -> "Goal":
        return Goal.of(await info.context.loader(repository.goals_by_ids).load(self.row.goal_id))

    @strawberry.field(description=ETAG_DESCRIPTION)
    async def etag(self, info: Info[Context, None]) -> str:
        return await info.context.loader(service.indicator_etags).load(self.row.id)


@strawberry.type
class Goal:
    id: strawberry.ID
    number: int
    title: LocalizedText
    institutions_text: str | None = strawberry.field(
        description="The involved institutions as the document writes them."
    )
    row_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: models.Goal) -> "Goal":
        return cls(
            id=_id(row.id),
            number=row.number,
            title=LocalizedText.of(row.title),
            institutions_text=row.institutions_text,
            row_id=row.id,
        )

    @strawberry.field(description="The involved institutions, in the document's order.", metadata=at_most(12))
    async def institutions(self, info: Info[Context, None]) -> list[Institution]:
        links = await info.context.loader(repository.goal_institutions_by_goal, missing=list).load(self.row_id)
        return await load_institutions(info, [link.institution_id for link in links])

    @strawberry.field(metadata=at_most(8))
    async def indicators(self, info: Info[Context, None]) -> list[Indicator]:
        rows = await info.context.loader(repository.indicators_by_goal, missing=list).load(self.row_id)
        return [Indicator.of(row) for row in rows]


@strawberry.type
class TaskInstitution:
    written_as: str
    role: TaskRole | None = strawberry.field(description="responsible | involved; null until an administrator sets it.")
    institution_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def institution(self, info: Info[Context, None]) -> Institution:
        return await load_institution(info, self.institution_id)


@strawberry.type
class Task:
    id: strawberry.ID
    number: str = strawberry.field(description="As printed: `1.`, `1.1.`, `a.`")
    parent_number: str | None
    text: LocalizedText
    updated_at: dt.datetime
    row: strawberry.Private[models.Task]

    @classmethod
    def of(cls, row: models.Task) -> "Task":
        return cls(
            id=_id(row.id),
            number=row.number,
            parent_number=row.parent_number,
            text=LocalizedText.of(row.text),
            updated_at=row.updated_at,
            row=row,
        )

    async def _links(self, info: Info[Context, None]) -> list[models.TaskInstitution]:
        return await info.context.loader(repository.task_institutions_by_task, missing=list).load(self.row.id)

    @strawberry.field(description="The institutions listed after the task, in the printed order.", metadata=at_most(16))
    async def institutions(self, info: Info[Context, None]) -> list[Institution]:
        return await load_institutions(info, [link.institution_id for link in await self._links(info)])

    @strawberry.field(
        description="The listed institutions with how the document writes them and their role.", metadata=at_most(16)
    )
    async def institution_roles(self, info: Info[Context, None]) -> list[TaskInstitution]:
        return [
            TaskInstitution(written_as=link.written_as, role=link.role, institution_id=link.institution_id)
            for link in await self._links(info)
        ]

    @strawberry.field(metadata=at_most(5))
    async def footnotes(self, info: Info[Context, None]) -> list[Footnote]:
        return await load_footnotes(info, self.row.strategy_id, self.row.footnote_numbers)

    @strawberry.field(description=ETAG_DESCRIPTION)
    async def etag(self, info: Info[Context, None]) -> str:
        return await info.context.loader(service.task_etags).load(self.row.id)


@strawberry.type
class ActionDirection:
    id: strawberry.ID
    number: int
    title: LocalizedText
    row_id: strawberry.Private[uuid.UUID]

    @strawberry.field(metadata=at_most(10))
    async def tasks(self, info: Info[Context, None]) -> list[Task]:
        rows = await info.context.loader(repository.tasks_by_action_direction, missing=list).load(self.row_id)
        return [Task.of(row) for row in rows]


@strawberry.type
class PolicyArea:
    id: strawberry.ID
    number: int = strawberry.field(description="Position in the document.")
    code: str = strawberry.field(description="`1`…`5` for policy areas, `H1`, `H2` for horizontal priority goals")
    kind: AreaKind
    title: LocalizedText
    row_id: strawberry.Private[uuid.UUID]

    @strawberry.field(metadata=at_most(4))
    async def goals(self, info: Info[Context, None]) -> list[Goal]:
        rows = await info.context.loader(repository.goals_by_area, missing=list).load(self.row_id)
        return [Goal.of(row) for row in rows]

    @strawberry.field(metadata=at_most(8))
    async def action_directions(self, info: Info[Context, None]) -> list[ActionDirection]:
        rows = await info.context.loader(repository.action_directions_by_area, missing=list).load(self.row_id)
        return [
            ActionDirection(id=_id(r.id), number=r.number, title=LocalizedText.of(r.title), row_id=r.id) for r in rows
        ]


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
    row: strawberry.Private[models.Strategy]

    @classmethod
    def of(cls, row: models.Strategy) -> "Strategy":
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
            row=row,
        )

    @strawberry.field(metadata=at_most(10))
    async def areas(self, info: Info[Context, None]) -> list[PolicyArea]:
        rows = await info.context.loader(repository.areas_by_strategy, missing=list).load(self.row.id)
        return [
            PolicyArea(
                id=_id(r.id), number=r.position, code=r.code, kind=r.kind, title=LocalizedText.of(r.title), row_id=r.id
            )
            for r in rows
        ]

    @strawberry.field(description="The footnotes on the strategy's own text.", metadata=at_most(12))
    async def footnotes(self, info: Info[Context, None]) -> list[Footnote]:
        return await load_footnotes(info, self.row.id, self.row.footnote_numbers)

    @strawberry.field(
        description="Strengths, weaknesses, opportunities and threats of the environment analysis.",
        metadata=at_most(24),
    )
    async def swot(self, info: Info[Context, None]) -> list[SwotFactor]:
        rows = await info.context.loader(repository.swot_by_strategy, missing=list).load(self.row.id)
        return [SwotFactor(kind=r.kind, text=LocalizedText.of(r.text)) for r in rows]

    @strawberry.field(description="The strategy this one cascades from.")
    async def parent(self, info: Info[Context, None]) -> "Strategy | None":
        if self.row.parent_id is None:
            return None
        return Strategy.of(await info.context.loader(repository.strategies_by_ids).load(self.row.parent_id))

    @strawberry.field(description="The institution whose own strategy this is; null for the sector strategy.")
    async def owner(self, info: Info[Context, None]) -> Institution | None:
        return await load_institution(info, self.row.owner_id)


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
        return await info.context.run(repository.count_strategies)


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
        rows, next_cursor = await info.context.run(service.page_strategies, first, after)
        edges = [
            StrategyEdge(cursor=encode_cursor(service.strategy_sort_key(row)), node=Strategy.of(row)) for row in rows
        ]
        page_info = PageInfo(has_next_page=next_cursor is not None, end_cursor=edges[-1].cursor if edges else None)
        return StrategyConnection(edges=edges, page_info=page_info)

    @strawberry.field
    async def strategy(self, info: Info[Context, None], id: strawberry.ID) -> Strategy | None:
        strategy_id = _parse_id(id, "strategy")
        row = await info.context.loader(repository.strategies_by_ids).load(strategy_id)
        return Strategy.of(row) if row else None

    @strawberry.field
    async def indicator(self, info: Info[Context, None], id: strawberry.ID) -> Indicator | None:
        row = await info.context.loader(repository.indicators_by_ids).load(_parse_id(id, "indicator"))
        return Indicator.of(row) if row else None

    @strawberry.field(description=f"Indicators in document order (at most {MAX_LIMIT}).", metadata=at_most(MAX_LIMIT))
    async def indicators(self, info: Info[Context, None], filter: IndicatorFilter | None = None) -> list[Indicator]:
        f = filter or IndicatorFilter()
        query = await info.context.run(
            service.indicator_query, strategy=f.strategy, area=f.area, institution=f.institution
        )
        rows, _ = await info.context.run(service.page_indicators, query, MAX_LIMIT, None)
        return [Indicator.of(row) for row in rows]

    @strawberry.field(description=f"Tasks in document order (at most {MAX_LIMIT}).", metadata=at_most(MAX_LIMIT))
    async def tasks(self, info: Info[Context, None], filter: TaskFilter | None = None) -> list[Task]:
        f = filter or TaskFilter()
        query = await info.context.run(
            service.task_query, strategy=f.strategy, area=f.area, action_direction=None, institution=f.institution
        )
        rows = await info.context.run(repository.list_tasks, query, MAX_LIMIT, None)
        return [Task.of(row) for row in rows[:MAX_LIMIT]]


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
        return Task.of((await info.context.run(repository.tasks_by_ids, [task_id]))[task_id])

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
        row = (await info.context.run(repository.indicators_by_ids, [indicator_id]))[indicator_id]
        return Indicator.of(row)
