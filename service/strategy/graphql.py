"""The strategy in GraphQL: the navigable tree, read once at the root field through the read path (`reads.load`)
for the parts the operation selected; below the root, fields are plain attributes of the objects built here."""

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import strawberry
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.types import Info

from service.core.graphql import Context
from service.core.graphql_cost import PAGE_OF_FIRST, at_most, first_page
from service.core.graphql_types import (
    ETAG_DESCRIPTION,
    GLOBAL_ID,
    ROW_ID,
    IfMatchArgument,
    IndicatorIdArgument,
    LocalizedText,
    LocalizedTextInput,
    PageAfterArgument,
    PageBeforeArgument,
    PageFirstArgument,
    PageInfo,
    PageLastArgument,
    Selection,
    described,
    global_id,
    graphql_enum,
    if_match_of,
    page_info,
    row_id_of,
    validated_input,
)
from service.core.pagination import MAX_LIMIT, Window, encode_cursor
from service.registry.graphql import Institution
from service.strategy import models, reads, service
from service.strategy.reads import Loaded, Part, Parts
from service.strategy.repository import IndicatorQuery, TaskQuery
from service.strategy.schemas import IndicatorPatch, TaskInstitutionRoleIn, TaskPatch
from service.strategy.values import published

if TYPE_CHECKING:
    from service.measurements.graphql import Actual, Progress

# A whole tree per strategy costs hundreds of objects, so the default page is the old list's bound.
STRATEGIES_PAGE = 20

AreaKind = graphql_enum(
    models.AreaKind,
    description="What a strategy's area is.",
    values={"policy": "A policy area (`1`…`5`).", "horizontal": "A horizontal priority goal (`H1`, `H2`)."},
)
Direction = graphql_enum(
    models.Direction,
    description="Which way an indicator improves, decided from its meaning.",
    values={"higher_is_better": "A higher value is better.", "lower_is_better": "A lower value is better.",
            "hold_steady": "The value should stay where it is."},
)  # fmt: skip
ValueKind = graphql_enum(
    models.ValueKind,
    description="How a value is written.",
    values={"number": "A number: `29,72`, `13404`.", "percent": "A percentage: `75%`.",
            "pair": "Units over participation days: `29/2195`.",
            "change": "A change against the previous year, in percent: `+10%`.",
            "qualitative": "Words, no number: `Palielinās` (increases).", "none": "`-`: no value for that year."},
)  # fmt: skip
ValueRole = graphql_enum(
    models.ValueRole,
    description="What a printed value of an indicator is.",
    values={"baseline": "The actual of the strategy's baseline year.", "target": "A year's target."},
)
TaskRole = graphql_enum(
    models.TaskRole,
    description="An institution's part in a task.",
    values={"responsible": "Responsible for the task.", "involved": "Involved in the task."},
)


def _row_id(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


def _parse_id(value: strawberry.ID, type_name: str, what: str) -> uuid.UUID:
    return row_id_of(value, type_name, f"a {what}")


@strawberry.type(description="A footnote of the strategy document, by its printed number.")
class Footnote:
    number: int = strawberry.field(description="Its printed number.")
    text: str = strawberry.field(description="Its text.")


def _footnotes(loaded: Loaded, strategy_id: uuid.UUID, numbers: list[int]) -> list[Footnote]:
    return [Footnote(number=note.number, text=note.text) for note in loaded.footnotes_of(strategy_id, numbers)]


def _institution(loaded: Loaded, institution_id: uuid.UUID | None) -> Institution | None:
    """The GraphQL object of a loaded institution, built once per read however many rows name it."""
    return loaded.view(Institution, institution_id)


@strawberry.type(description="A dated step in the strategy's life, e.g. its approval.")
class DatedStatement:
    date: str = strawberry.field(description="ISO 8601 date.")
    kind: str = strawberry.field(description="What happened on that date, e.g. `agreed`.")
    text: LocalizedText | None = strawberry.field(description="The statement as the document writes it.")


@strawberry.type(description="A strength, weakness, opportunity or threat of the environment analysis.")
class SwotFactor:
    kind: str = strawberry.field(description="`strength`, `weakness`, `opportunity` or `threat`.")
    text: LocalizedText = strawberry.field(description="The factor.")


@strawberry.type(description="The baseline actual or a target, as printed and typed.")
class IndicatorValue:
    year: int = strawberry.field(description="The year the value is for.")
    role: ValueRole = strawberry.field(description="Baseline or target.")
    text: str = strawberry.field(
        description="As the strategy prints it: `29,72`, `75%`, `29/2195`, `+10%`, `Palielinās`, `-`."
    )
    kind: ValueKind = strawberry.field(description="How the value is written.")
    value: float | None = strawberry.field(
        description="The number; the percentage of a percent or change value; null for a text or pair value."
    )
    pair: list[float] | None = strawberry.field(description="Both numbers of a pair value (units / days).")
    institution: Institution | None = strawberry.field(
        description="Set where the indicator has a value per institution."
    )
    footnotes: list[Footnote] = strawberry.field(description="The footnotes on the value.", metadata=at_most(5))

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


@strawberry.type(
    description="A performance indicator of a goal: its baseline, yearly targets, posted actuals and progress."
)
class Indicator(relay.Node):
    _id_attr: ClassVar[str] = "row_id"
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    code: str = strawberry.field(description="Area.goal.indicator, e.g. `2.2.2` or `H1.1.1`.")
    name: LocalizedText = strawberry.field(description="Its name.")
    unit: str = strawberry.field(description="The unit its values are in, e.g. `%`.")
    direction: Direction = strawberry.field(description="Which way it improves.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")
    baseline: list[IndicatorValue] = strawberry.field(
        description="The baseline year's actual; one per institution where the document gives them.",
        metadata=at_most(15),
    )
    targets: list[IndicatorValue] = strawberry.field(
        description="The yearly targets; per institution where the document gives them.", metadata=at_most(60)
    )
    footnotes: list[Footnote] = strawberry.field(description="The footnotes on its name.", metadata=at_most(5))
    # Actuals and progress belong to the measurements domain, to the right of this one; GraphQL types
    # cannot be extended after definition, so their types and mapping are reached through lazy imports.
    actuals: list[Annotated["Actual", strawberry.lazy("service.measurements.graphql")]] = strawberry.field(
        description="The current revision of every year's actual (and institution's).", metadata=at_most(60)
    )
    progress: list[Annotated["Progress", strawberry.lazy("service.measurements.graphql")]] = strawberry.field(
        description="Target, official actual and status for every target year.", metadata=at_most(60)
    )
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
            id=global_id("Indicator", row.id),
            row_id=_row_id(row.id),
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
            goal_id=row.goal_id,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: list[uuid.UUID]) -> "list[Indicator | None]":
        return await _indicators(info, node_ids)

    @strawberry.field(description="The goal it measures.")
    async def goal(self, info: Info[Context, None]) -> "Goal":
        return await info.context.loader(GoalsWith(asked_parts(info, _goal_parts))).load(self.goal_id)

    @strawberry.field(description=ETAG_DESCRIPTION)
    async def etag(self, info: Info[Context, None]) -> str:
        return await info.context.loader(service.indicator_etags).load(uuid.UUID(self.row_id))


@strawberry.type(description="A goal of a policy area: the institutions involved and its indicators.")
class Goal(relay.Node):
    _id_attr: ClassVar[str] = "row_id"
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    number: int = strawberry.field(description="Its number within the policy area.")
    title: LocalizedText = strawberry.field(description="Its title.")
    institutions_text: str | None = strawberry.field(
        description="The involved institutions as the document writes them."
    )
    institutions: list[Institution] = strawberry.field(
        description="The involved institutions, in the document's order.", metadata=at_most(12)
    )
    indicators: list[Indicator] = strawberry.field(
        description="Its indicators, in the document's order.", metadata=at_most(8)
    )

    @classmethod
    def of(cls, row: Row | models.Goal, loaded: Loaded) -> "Goal":
        links = loaded.goal_institutions.get(row.id, ())
        return cls(
            id=global_id("Goal", row.id),
            row_id=_row_id(row.id),
            number=row.number,
            title=LocalizedText.of(row.title),
            institutions_text=row.institutions_text,
            institutions=[i for link in links if (i := _institution(loaded, link.institution_id)) is not None],
            indicators=[Indicator.of(i, loaded) for i in loaded.indicators.get(row.id, ())],
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: list[uuid.UUID]) -> "list[Goal | None]":
        return await info.context.loader(GoalsWith(asked_parts(info, _goal_parts))).load_many(node_ids)


@strawberry.type(description="An institution a task lists, as the document writes it, and its role.")
class TaskInstitution:
    written_as: str = strawberry.field(description="How the document writes the institution.")
    role: TaskRole | None = strawberry.field(
        description="Whether the institution is responsible or involved; null until an administrator sets it."
    )
    institution: Institution = strawberry.field(description="The institution.")


@strawberry.type(description="A task of an action direction and the institutions it lists.")
class Task(relay.Node):
    _id_attr: ClassVar[str] = "row_id"
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    number: str = strawberry.field(description="As printed: `1.`, `1.1.`, `a.`")
    parent_number: str | None = strawberry.field(description="The number of the task it is part of, if any.")
    text: LocalizedText = strawberry.field(description="What is to be done.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")
    institutions: list[Institution] = strawberry.field(
        description="The institutions listed after the task, in the printed order.", metadata=at_most(16)
    )
    institution_roles: list[TaskInstitution] = strawberry.field(
        description="The listed institutions with how the document writes them and their role.", metadata=at_most(16)
    )
    footnotes: list[Footnote] = strawberry.field(description="The footnotes on its text.", metadata=at_most(5))

    @classmethod
    def of(cls, row: Row | models.Task, loaded: Loaded) -> "Task":
        roles = [
            TaskInstitution(written_as=link.written_as, role=link.role, institution=institution)
            for link in loaded.task_institutions.get(row.id, ())
            if (institution := _institution(loaded, link.institution_id)) is not None
        ]
        return cls(
            id=global_id("Task", row.id),
            row_id=_row_id(row.id),
            number=row.number,
            parent_number=row.parent_number,
            text=LocalizedText.of(row.text),
            updated_at=row.updated_at,
            institutions=[role.institution for role in roles],
            institution_roles=roles,
            footnotes=_footnotes(loaded, row.strategy_id, row.footnote_numbers),
        )

    @strawberry.field(description=ETAG_DESCRIPTION)
    async def etag(self, info: Info[Context, None]) -> str:
        return await info.context.loader(service.task_etags).load(uuid.UUID(self.row_id))

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: list[uuid.UUID]) -> "list[Task | None]":
        return await _tasks(info, node_ids)


@strawberry.type(description="An action direction of a policy area: the tasks the strategy sets out under it.")
class ActionDirection(relay.Node):
    _id_attr: ClassVar[str] = "row_id"
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    number: int = strawberry.field(description="Its number within the policy area.")
    title: LocalizedText = strawberry.field(description="Its title.")
    tasks: list[Task] = strawberry.field(description="Its tasks, in the document's order.", metadata=at_most(10))

    @classmethod
    def of(cls, row: Row, loaded: Loaded) -> "ActionDirection":
        tasks = [Task.of(task, loaded) for task in loaded.tasks.get(row.id, ())]
        return cls(
            id=global_id("ActionDirection", row.id), row_id=_row_id(row.id), number=row.number,
            title=LocalizedText.of(row.title), tasks=tasks,
        )  # fmt: skip

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: list[uuid.UUID]
    ) -> "list[ActionDirection | None]":
        return await _nodes(info, node_ids, reads.directions_by_ids, _direction_parts, "directions", cls.of)


@strawberry.type(
    description="A policy area or horizontal priority of the strategy, with its goals and action directions."
)
class PolicyArea(relay.Node):
    _id_attr: ClassVar[str] = "row_id"
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    number: int = strawberry.field(description="Position in the document.")
    code: str = strawberry.field(description="`1`…`5` for policy areas, `H1`, `H2` for horizontal priority goals")
    kind: AreaKind = strawberry.field(description="A policy area or a horizontal priority.")
    title: LocalizedText = strawberry.field(description="Its title.")
    goals: list[Goal] = strawberry.field(description="Its goals.", metadata=at_most(4))
    action_directions: list[ActionDirection] = strawberry.field(
        description="Its action directions.", metadata=at_most(8)
    )

    @classmethod
    def of(cls, row: Row, loaded: Loaded) -> "PolicyArea":
        return cls(
            id=global_id("PolicyArea", row.id),
            row_id=_row_id(row.id),
            number=row.position,
            code=row.code,
            kind=row.kind,
            title=LocalizedText.of(row.title),
            goals=[Goal.of(goal, loaded) for goal in loaded.goals.get(row.id, ())],
            action_directions=[ActionDirection.of(d, loaded) for d in loaded.directions.get(row.id, ())],
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: list[uuid.UUID]) -> "list[PolicyArea | None]":
        return await _nodes(info, node_ids, reads.areas_by_ids, _area_parts, "areas", cls.of)


@strawberry.type(description="A strategy: the sector strategy, or an institution's own one cascading from it.")
class Strategy(relay.Node):
    _id_attr: ClassVar[str] = "row_id"
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    key: str = strawberry.field(description="Its stable key, e.g. `iekslietu-nozares-strategija-2023-2027`.")
    title: LocalizedText = strawberry.field(description="Its title.")
    period_start: int = strawberry.field(description="The first year it covers.")
    period_end: int = strawberry.field(description="The last year it covers.")
    baseline_year: int = strawberry.field(description="The year of the baseline values.")
    dates: list[DatedStatement] = strawberry.field(description="Dated steps of its life.", metadata=at_most(6))
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")
    areas: list[PolicyArea] = strawberry.field(
        description="Its policy areas and horizontal priorities, in the document's order.", metadata=at_most(10)
    )
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
            id=global_id("Strategy", row.id),
            row_id=_row_id(row.id),
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

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: list[uuid.UUID]) -> "list[Strategy | None]":
        return await info.context.loader(StrategiesWith(asked_parts(info, _strategy_parts))).load_many(node_ids)

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
        _direction_parts(asked.get("actionDirections"), parts)


def _direction_parts(asked: Selection, parts: set[Part]) -> None:
    if "tasks" in asked:
        parts.add(Part.tasks)
        _task_parts(asked.get("tasks"), parts)


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


@strawberry.type(description="A strategy on a page, with its cursor.")
class StrategyEdge:
    cursor: str = strawberry.field(
        description="Pass it as `after` for the strategies after this one, as `before` for those before it."
    )
    node: Strategy = strawberry.field(description="The strategy.")


@strawberry.type(description="A page of strategies (a Relay connection).")
class StrategyConnection:
    edges: list[StrategyEdge] = strawberry.field(description="The strategies on this page.", metadata=PAGE_OF_FIRST)
    page_info: PageInfo = strawberry.field(
        description="Where this page stands: cursors, and whether more pages follow."
    )

    @strawberry.field(description="How many strategies there are, on all pages.")
    async def total_count(self, info: Info[Context, None]) -> int:
        return await info.context.run(reads.count_strategies)


@strawberry.type(description="An indicator on a page, with its cursor.")
class IndicatorEdge:
    cursor: str = strawberry.field(
        description="Pass it as `after` for the indicators after this one, as `before` for those before it."
    )
    node: Indicator = strawberry.field(description="The indicator.")


@strawberry.type(description="A page of indicators (a Relay connection).")
class IndicatorConnection:
    edges: list[IndicatorEdge] = strawberry.field(description="The indicators on this page.", metadata=PAGE_OF_FIRST)
    page_info: PageInfo = strawberry.field(description="Where this page stands: cursors, and whether more follow.")
    query: strawberry.Private[IndicatorQuery]

    @strawberry.field(description="How many indicators match the filter, on all pages (one count, when asked).")
    async def total_count(self, info: Info[Context, None]) -> int:
        return await info.context.run(reads.count_indicators, self.query)


@strawberry.type(description="A task on a page, with its cursor.")
class TaskEdge:
    cursor: str = strawberry.field(
        description="Pass it as `after` for the tasks after this one, as `before` for those before it."
    )
    node: Task = strawberry.field(description="The task.")


@strawberry.type(description="A page of tasks (a Relay connection).")
class TaskConnection:
    edges: list[TaskEdge] = strawberry.field(description="The tasks on this page.", metadata=PAGE_OF_FIRST)
    page_info: PageInfo = strawberry.field(description="Where this page stands: cursors, and whether more follow.")
    query: strawberry.Private[TaskQuery]

    @strawberry.field(description="How many tasks match the filter, on all pages (one count, when asked).")
    async def total_count(self, info: Info[Context, None]) -> int:
        return await info.context.run(reads.count_tasks, self.query)


@strawberry.input(description="Which indicators to list; every criterion given must hold.")
class IndicatorFilter:
    strategy: str | None = strawberry.field(default=None, description="Strategy id or key.")
    area: str | None = strawberry.field(default=None, description="Policy area code: 1…5, H1, H2.")
    institution: str | None = strawberry.field(
        default=None, description="Indicators of goals this institution is involved in, or with its own values."
    )


@strawberry.input(description="Which tasks to list; every criterion given must hold.")
class TaskFilter:
    strategy: str | None = strawberry.field(default=None, description="Only this strategy's tasks: its id or key.")
    area: str | None = strawberry.field(default=None, description="Only this policy area's tasks: `1`…`5`, `H1`, `H2`.")
    institution: str | None = strawberry.field(default=None, description="Tasks listing this institution.")


@strawberry.type
class StrategyQuery:
    # One sector strategy today; each institution may own one that cascades from it.
    @strawberry.field(
        description=f"Strategies by period start, then key, a Relay page at a time ({STRATEGIES_PAGE} unless "
        "`first` or `last` says).",
        metadata=first_page(STRATEGIES_PAGE),
    )
    async def strategies(
        self,
        info: Info[Context, None],
        first: PageFirstArgument = None,
        after: PageAfterArgument = None,
        last: PageLastArgument = None,
        before: PageBeforeArgument = None,
    ) -> StrategyConnection:
        window = Window.of(first=first, after=after, last=last, before=before, default=STRATEGIES_PAGE)
        part = await info.context.run(reads.page_strategies, window)
        loaded = await info.context.run(read, asked_parts(info, _strategy_parts, "edges", "node"), strategies=part.rows)
        edges = [
            StrategyEdge(cursor=encode_cursor(reads.strategy_sort_key(row)), node=Strategy.of(row, loaded))
            for row in part.rows
        ]
        return StrategyConnection(edges=edges, page_info=page_info([edge.cursor for edge in edges], part))

    @strawberry.field(description="One strategy, by id; null where there is none.")
    async def strategy(
        self, info: Info[Context, None], id: described(strawberry.ID, "The strategy's `id` or `rowId`.")
    ) -> Strategy | None:
        strategy_id = _parse_id(id, "Strategy", "strategy")
        return await info.context.loader(StrategiesWith(asked_parts(info, _strategy_parts))).load(strategy_id)

    @strawberry.field(description="One indicator, by id; null where there is none.")
    async def indicator(self, info: Info[Context, None], id: IndicatorIdArgument) -> Indicator | None:
        indicator_id = _parse_id(id, "Indicator", "indicator")
        return (await _indicators(info, [indicator_id]))[0]

    @strawberry.field(
        description=f"Indicators in document order, a Relay page at a time ({MAX_LIMIT} unless `first` or "
        "`last` says).",
        metadata=first_page(MAX_LIMIT),
    )
    async def indicators(
        self,
        info: Info[Context, None],
        filter: described(IndicatorFilter | None, "Only the indicators that match.") = None,
        first: PageFirstArgument = None,
        after: PageAfterArgument = None,
        last: PageLastArgument = None,
        before: PageBeforeArgument = None,
    ) -> IndicatorConnection:
        window = Window.of(first=first, after=after, last=last, before=before, default=MAX_LIMIT)
        f = filter or IndicatorFilter()
        query = await info.context.run(
            service.indicator_query, strategy=f.strategy, area=f.area, institution=f.institution
        )
        part = await info.context.run(reads.page_indicators, query, window)
        loaded = await info.context.run(
            read, asked_parts(info, _indicator_parts, "edges", "node"), indicators=part.rows
        )
        edges = [IndicatorEdge(cursor=_document_cursor(row), node=Indicator.of(row, loaded)) for row in part.rows]
        return IndicatorConnection(edges=edges, page_info=page_info([edge.cursor for edge in edges], part), query=query)

    @strawberry.field(
        description=f"Tasks in document order, a Relay page at a time ({MAX_LIMIT} unless `first` or `last` says).",
        metadata=first_page(MAX_LIMIT),
    )
    async def tasks(
        self,
        info: Info[Context, None],
        filter: described(TaskFilter | None, "Only the tasks that match.") = None,
        first: PageFirstArgument = None,
        after: PageAfterArgument = None,
        last: PageLastArgument = None,
        before: PageBeforeArgument = None,
    ) -> TaskConnection:
        window = Window.of(first=first, after=after, last=last, before=before, default=MAX_LIMIT)
        f = filter or TaskFilter()
        query = await info.context.run(
            service.task_query, strategy=f.strategy, area=f.area, action_direction=None, institution=f.institution
        )
        part = await info.context.run(reads.page_tasks, query, window)
        loaded = await info.context.run(read, asked_parts(info, _task_parts, "edges", "node"), tasks=part.rows)
        edges = [TaskEdge(cursor=_document_cursor(row), node=Task.of(row, loaded)) for row in part.rows]
        return TaskConnection(edges=edges, page_info=page_info([edge.cursor for edge in edges], part), query=query)


def _document_cursor(row: Row) -> str:
    return encode_cursor(reads.document_order(row))


async def _nodes(
    info: Info[Context, None],
    ids: list[uuid.UUID],
    by_ids: Callable[[AsyncSession, Sequence[uuid.UUID]], Any],
    walk: Walk,
    root: str,
    output: Callable[[Any, Loaded], Any],
) -> list:
    """Objects by id (None where there is none) through the read path, the parts the field's selection asks
    below them read from these rows (`root`: which rows of `reads.load` they are)."""
    found = await info.context.run(by_ids, ids)
    rows = [found[i] for i in ids if i in found]
    loaded = await info.context.run(read, asked_parts(info, walk), **{root: rows})
    return [output(found[i], loaded) if i in found else None for i in ids]


async def _indicators(info: Info[Context, None], ids: list[uuid.UUID]) -> list[Indicator | None]:
    return await _nodes(info, ids, reads.indicators_by_ids, _indicator_parts, "indicators", Indicator.of)


async def _tasks(info: Info[Context, None], ids: list[uuid.UUID]) -> list[Task | None]:
    return await _nodes(info, ids, reads.tasks_by_ids, _task_parts, "tasks", Task.of)


@strawberry.input(description="The role of one of a task's listed institutions.")
class TaskRoleInput:
    institution: str = strawberry.field(description="Code of one of the institutions the task lists.")
    role: TaskRole | None = strawberry.field(description="Its role; null clears it.")


@strawberry.input(description="A merge patch: a field left out keeps its value, null removes it.")
class IndicatorPatchInput:
    name: LocalizedTextInput | None = strawberry.field(
        default=strawberry.UNSET, description="The indicator's name. Left out: unchanged."
    )
    unit: str | None = strawberry.field(
        default=strawberry.UNSET, description="The unit its values are in, e.g. `%`, `min`. Left out: unchanged."
    )
    direction: Direction | None = strawberry.field(
        default=strawberry.UNSET, description="Which way it improves. Left out: unchanged."
    )


@strawberry.type
class StrategyMutation:
    @strawberry.mutation(description="Admin: set the roles of a task's listed institutions (responsible / involved).")
    async def set_task_roles(
        self,
        info: Info[Context, None],
        task_id: described(strawberry.ID, "The task's `id` or `rowId`."),
        roles: described(list[TaskRoleInput], "The roles to set, one per listed institution named."),
        if_match: IfMatchArgument = None,
    ) -> Task:
        principal = await info.context.writer()
        patch = TaskPatch(roles=[TaskInstitutionRoleIn(institution=r.institution, role=r.role) for r in roles])
        task_id = _parse_id(task_id, "Task", "task")
        await info.context.run(service.update_task, principal, task_id, patch, if_match_of(if_match))
        (task,) = await _tasks(info, [task_id])
        return task  # type: ignore[return-value]  # just written

    @strawberry.mutation(description="Admin: correct an indicator's name, unit or direction (a merge patch).")
    async def update_indicator(
        self,
        info: Info[Context, None],
        id: IndicatorIdArgument,
        input: described(IndicatorPatchInput, "What to change."),
        if_match: IfMatchArgument = None,
    ) -> Indicator:
        principal = await info.context.writer()
        patch = validated_input(IndicatorPatch, input)
        indicator_id = _parse_id(id, "Indicator", "indicator")
        await info.context.run(service.update_indicator, principal, indicator_id, patch, if_match_of(if_match))
        (indicator,) = await _indicators(info, [indicator_id])
        return indicator
