import uuid
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, Numeric, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from service.core.models import Timestamped


class AreaKind(StrEnum):
    policy = "policy"
    horizontal = "horizontal"


class Direction(StrEnum):
    """Which way an indicator improves, decided from its meaning."""

    higher_is_better = "higher_is_better"
    lower_is_better = "lower_is_better"
    hold_steady = "hold_steady"


class ValueKind(StrEnum):
    number = "number"  # 29,72 / 13404
    percent = "percent"  # 75%
    pair = "pair"  # 29/2195: units / participation days
    change = "change"  # +10%: change against the previous year, in percent
    qualitative = "qualitative"  # Palielinās ("increases")
    none = "none"  # "-": no value for that year


class ValueRole(StrEnum):
    baseline = "baseline"  # the actual of the strategy's baseline year
    target = "target"


class TaskRole(StrEnum):
    responsible = "responsible"
    involved = "involved"


def _ids(name: str):
    return Field(default_factory=list, sa_column=Column(name, ARRAY(Integer), nullable=False, server_default="{}"))


class Strategy(Timestamped, table=True):
    __tablename__ = "strategy"
    __table_args__ = (CheckConstraint("period_start <= period_end", name="strategy_period_is_ordered"),)

    id: uuid.UUID = Field(primary_key=True)
    key: str = Field(sa_column=Column(Text, unique=True, nullable=False))
    title: dict = Field(sa_column=Column(JSONB, nullable=False))
    period_start: int
    period_end: int
    baseline_year: int
    # An agency's own strategy cascades from the sector strategy.
    parent_id: uuid.UUID | None = Field(default=None, sa_column=Column(ForeignKey("strategy.id"), nullable=True))
    owner_id: uuid.UUID | None = Field(default=None, sa_column=Column(ForeignKey("institution.id"), nullable=True))
    dates: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    footnote_numbers: list[int] = _ids("footnote_numbers")
    sources: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))


class Footnote(SQLModel, table=True):
    __tablename__ = "footnote"
    __table_args__ = (UniqueConstraint("strategy_id", "number"),)

    id: uuid.UUID = Field(primary_key=True)
    strategy_id: uuid.UUID = Field(sa_column=Column(ForeignKey("strategy.id", ondelete="CASCADE"), nullable=False))
    number: int
    text: str = Field(sa_column=Column(Text, nullable=False))


class SwotFactor(SQLModel, table=True):
    __tablename__ = "swot_factor"
    __table_args__ = (
        CheckConstraint("kind IN ('strength', 'weakness', 'opportunity', 'threat')", name="swot_factor_kind"),
        Index("swot_factor_strategy", "strategy_id", "position"),
    )

    id: uuid.UUID = Field(primary_key=True)
    strategy_id: uuid.UUID = Field(sa_column=Column(ForeignKey("strategy.id", ondelete="CASCADE"), nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    position: int
    text: dict = Field(sa_column=Column(JSONB, nullable=False))


class PolicyArea(Timestamped, table=True):
    __tablename__ = "policy_area"
    __table_args__ = (UniqueConstraint("strategy_id", "code"), Index("policy_area_strategy", "strategy_id", "position"))

    id: uuid.UUID = Field(primary_key=True)
    strategy_id: uuid.UUID = Field(sa_column=Column(ForeignKey("strategy.id", ondelete="CASCADE"), nullable=False))
    code: str = Field(sa_column=Column(Text, nullable=False))  # "1".."5", "H1", "H2"
    position: int
    kind: AreaKind = Field(sa_column=Column(Text, nullable=False))
    title: dict = Field(sa_column=Column(JSONB, nullable=False))


class Goal(Timestamped, table=True):
    __tablename__ = "goal"
    __table_args__ = (Index("goal_area", "area_id", "number"),)

    id: uuid.UUID = Field(primary_key=True)
    area_id: uuid.UUID = Field(sa_column=Column(ForeignKey("policy_area.id", ondelete="CASCADE"), nullable=False))
    number: int
    title: dict = Field(sa_column=Column(JSONB, nullable=False))
    institutions_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class GoalInstitution(SQLModel, table=True):
    __tablename__ = "goal_institution"
    __table_args__ = (Index("goal_institution_institution", "institution_id"),)

    goal_id: uuid.UUID = Field(sa_column=Column(ForeignKey("goal.id", ondelete="CASCADE"), primary_key=True))
    institution_id: uuid.UUID = Field(sa_column=Column(ForeignKey("institution.id"), primary_key=True))
    position: int


class Indicator(Timestamped, table=True):
    __tablename__ = "indicator"
    __table_args__ = (
        UniqueConstraint("strategy_id", "code"),
        Index("indicator_goal", "goal_id", "number"),
        Index("indicator_sort", "sort_key", "id"),
    )

    id: uuid.UUID = Field(primary_key=True)
    strategy_id: uuid.UUID = Field(sa_column=Column(ForeignKey("strategy.id", ondelete="CASCADE"), nullable=False))
    goal_id: uuid.UUID = Field(sa_column=Column(ForeignKey("goal.id", ondelete="CASCADE"), nullable=False))
    code: str = Field(sa_column=Column(Text, nullable=False))  # area.goal.indicator, e.g. "2.2.2", "H1.1.1"
    number: int
    name: dict = Field(sa_column=Column(JSONB, nullable=False))
    unit: str = Field(sa_column=Column(Text, nullable=False))
    direction: Direction = Field(sa_column=Column(Text, nullable=False))
    footnote_numbers: list[int] = _ids("footnote_numbers")
    # Listing order across strategies: strategy key, area position, goal and indicator numbers.
    sort_key: str = Field(sa_column=Column(Text, nullable=False))


class IndicatorValue(SQLModel, table=True):
    """The baseline actual or a target of one indicator for one year (and institution, where it has its own)."""

    __tablename__ = "indicator_value"
    __table_args__ = (
        UniqueConstraint("indicator_id", "year", "institution_id", postgresql_nulls_not_distinct=True),
        CheckConstraint(
            "kind IN ('number', 'percent', 'pair', 'change', 'qualitative', 'none')", name="indicator_value_kind"
        ),
    )

    id: uuid.UUID = Field(primary_key=True)
    indicator_id: uuid.UUID = Field(sa_column=Column(ForeignKey("indicator.id", ondelete="CASCADE"), nullable=False))
    year: int
    institution_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("institution.id"), nullable=True)
    )
    role: ValueRole = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))  # as the source prints it
    kind: ValueKind = Field(sa_column=Column(Text, nullable=False))
    number: Decimal | None = Field(default=None, sa_column=Column(Numeric, nullable=True))
    second: Decimal | None = Field(default=None, sa_column=Column(Numeric, nullable=True))  # of a pair
    footnote_numbers: list[int] = _ids("footnote_numbers")


class ActionDirection(Timestamped, table=True):
    __tablename__ = "action_direction"
    __table_args__ = (Index("action_direction_area", "area_id", "number"),)

    id: uuid.UUID = Field(primary_key=True)
    area_id: uuid.UUID = Field(sa_column=Column(ForeignKey("policy_area.id", ondelete="CASCADE"), nullable=False))
    number: int
    title: dict = Field(sa_column=Column(JSONB, nullable=False))


class Task(Timestamped, table=True):
    __tablename__ = "task"
    __table_args__ = (
        Index("task_action_direction", "action_direction_id", "position"),
        Index("task_sort", "sort_key", "id"),
    )

    id: uuid.UUID = Field(primary_key=True)
    strategy_id: uuid.UUID = Field(sa_column=Column(ForeignKey("strategy.id", ondelete="CASCADE"), nullable=False))
    action_direction_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("action_direction.id", ondelete="CASCADE"), nullable=False)
    )
    position: int
    number: str = Field(sa_column=Column(Text, nullable=False))  # as printed: "1.", "1.1.", "a."
    parent_number: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    text: dict = Field(sa_column=Column(JSONB, nullable=False))
    footnote_numbers: list[int] = _ids("footnote_numbers")
    sort_key: str = Field(sa_column=Column(Text, nullable=False))


class TaskInstitution(SQLModel, table=True):
    """An institution listed after a task, in the printed order.

    The document printed the responsible institutions in bold, which the text lost: `role`
    stays empty until an administrator sets it.
    """

    __tablename__ = "task_institution"
    __table_args__ = (Index("task_institution_institution", "institution_id"),)

    task_id: uuid.UUID = Field(sa_column=Column(ForeignKey("task.id", ondelete="CASCADE"), primary_key=True))
    institution_id: uuid.UUID = Field(sa_column=Column(ForeignKey("institution.id"), primary_key=True))
    position: int
    written_as: str = Field(sa_column=Column(Text, nullable=False))  # "VSC" where the source abbreviates so
    role: TaskRole | None = Field(default=None, sa_column=Column(Text, nullable=True))
