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
    text: str
    kind: ValueKind
    value: float | None
    pair: list[float] | None
    institution: InstitutionRef | None
    footnotes: list[FootnoteOut]


class IndicatorOut(BaseModel):
    id: uuid.UUID
    code: str
    strategy_id: uuid.UUID
    goal_id: uuid.UUID
    name: LocalizedText
    unit: str
    direction: Direction
    footnotes: list[FootnoteOut]
    baseline: list[ValueOut]
    targets: list[ValueOut]
    updated_at: dt.datetime


class GoalOut(BaseModel):
    id: uuid.UUID
    number: int
    title: LocalizedText
    institutions_text: str | None
    institutions: list[InstitutionRef]
    indicators: list[IndicatorOut]


class TaskInstitutionOut(BaseModel):
    institution: InstitutionRef
    written_as: str
    role: TaskRole | None


class TaskOut(BaseModel):
    id: uuid.UUID
    number: str
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
    code: str
    number: int
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
    footnotes: list[FootnoteOut]
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
