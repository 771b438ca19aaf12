"""REST bodies of the strategy."""

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from service.core.i18n import LocalizedName, LocalizedText
from service.registry.schemas import InstitutionRef
from service.strategy.models import AreaKind, Direction, TaskRole, ValueKind, ValueRole


class FootnoteOut(BaseModel):
    number: int
    text: str


class DatedStatement(BaseModel):
    date: str
    kind: str
    text: LocalizedText | None = None


class ValueOut(BaseModel):
    year: int
    role: ValueRole
    text: str = Field(description="As the strategy prints it: `29,72`, `75%`, `29/2195`, `+10%`, `Palielinās`, `-`.")
    kind: ValueKind
    value: float | None = Field(description="The number; the percentage for `percent` and `change`; null otherwise.")
    pair: list[float] | None = Field(description="Both numbers of a `pair` value (units / days).")
    institution: InstitutionRef | None = Field(description="Set where the indicator has a value per institution.")
    footnotes: list[FootnoteOut]


class IndicatorOut(BaseModel):
    id: uuid.UUID
    code: str = Field(description="area.goal.indicator, e.g. `2.2.2` or `H1.1.1`")
    strategy_id: uuid.UUID
    goal_id: uuid.UUID
    name: LocalizedText
    unit: str
    direction: Direction
    footnotes: list[FootnoteOut]
    baseline: list[ValueOut] = Field(description="The baseline year's actual (one per institution where given).")
    targets: list[ValueOut]
    updated_at: dt.datetime


class GoalOut(BaseModel):
    id: uuid.UUID
    number: int
    title: LocalizedText
    institutions_text: str | None = Field(description="The involved institutions as the document writes them.")
    institutions: list[InstitutionRef]
    indicators: list[IndicatorOut]


class TaskInstitutionOut(BaseModel):
    institution: InstitutionRef
    written_as: str
    role: TaskRole | None = Field(description="responsible | involved; null until an administrator sets it.")


class TaskOut(BaseModel):
    id: uuid.UUID
    number: str = Field(description="As printed: `1.`, `1.1.`, `a.`")
    parent_number: str | None
    text: LocalizedText
    institutions: list[TaskInstitutionOut]
    footnotes: list[FootnoteOut]
    action_direction_id: uuid.UUID
    updated_at: dt.datetime


class ActionDirectionOut(BaseModel):
    id: uuid.UUID
    number: int
    title: LocalizedText
    tasks: list[TaskOut]


class AreaOut(BaseModel):
    id: uuid.UUID
    code: str = Field(description="`1`…`5` for policy areas, `H1`, `H2` for the horizontal priority goals")
    number: int = Field(description="Position in the document.")
    kind: AreaKind
    title: LocalizedText
    goals: list[GoalOut]
    action_directions: list[ActionDirectionOut]


class SwotOut(BaseModel):
    kind: str
    text: LocalizedText


class StrategyOut(BaseModel):
    id: uuid.UUID
    key: str
    title: LocalizedText
    period_start: int
    period_end: int
    baseline_year: int
    parent_id: uuid.UUID | None
    owner: InstitutionRef | None
    dates: list[DatedStatement]
    sources: list[str]
    updated_at: dt.datetime


class StrategyDetail(StrategyOut):
    footnotes: list[FootnoteOut] = Field(description="The footnotes on the strategy's own text.")
    areas: list[AreaOut]
    swot: list[SwotOut]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StrategyIn(_Input):
    key: str = Field(min_length=1, max_length=200, pattern=r"^[a-z0-9][a-z0-9\-]*$")
    title: LocalizedName
    period_start: int = Field(ge=1990, le=2100)
    period_end: int = Field(ge=1990, le=2100)
    baseline_year: int = Field(ge=1990, le=2100)
    parent: str | None = Field(None, max_length=200, description="Id or key of the strategy this one cascades from.")
    owner: str | None = Field(None, max_length=64, description="Code of the institution whose strategy this is.")


class StrategyPatch(_Input):
    title: LocalizedName | None = None
    period_start: int | None = Field(None, ge=1990, le=2100)
    period_end: int | None = Field(None, ge=1990, le=2100)
    baseline_year: int | None = Field(None, ge=1990, le=2100)


class IndicatorEdit(_Input):
    """The fields of an indicator an administrator corrects; a patch is merged into these."""

    name: LocalizedName
    unit: str = Field(min_length=1, max_length=64)
    direction: Direction


class IndicatorPatch(_Input):
    name: LocalizedName | None = None
    unit: str | None = Field(None, min_length=1, max_length=64)
    direction: Direction | None = None


class TaskInstitutionRoleIn(_Input):
    institution: str = Field(max_length=64)
    role: TaskRole | None


class TaskEdit(_Input):
    text: LocalizedText


class TaskPatch(_Input):
    text: LocalizedText | None = None
    roles: list[TaskInstitutionRoleIn] | None = Field(
        None,
        max_length=50,
        description="Set the role of the institutions named here (the bold the PDF text lost); the others keep theirs.",
    )
