"""REST bodies of the measurements."""

import datetime as dt
import math
import uuid
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from service.measurements.models import Status
from service.measurements.progress import ProgressStatus
from service.registry.schemas import InstitutionRef
from service.strategy.models import ValueKind

COMMENT_MAX = 4000
SOURCE_MAX = 1000
# The longest value text the strategy prints is a few words (`Palielinās`, `29/2195`).
VALUE_TEXT_MAX = 100
ACCEPTED_VALUES = (
    "give the value as the strategy writes it (`81,5%`, `29,72`, `12/940`, `+8%`, `Palielinās`), "
    "a number, or a pair `[units, days]`"
)


def _finite(value: str | float | list[float]) -> str | float | list[float]:
    """JSON as Python reads it lets NaN and Infinity through (and 1e400 becomes Infinity): no actual is either."""
    numbers = value if isinstance(value, list) else [value] if isinstance(value, float) else []
    if not all(math.isfinite(number) for number in numbers):
        raise ValueError(f"NaN and Infinity are not values; {ACCEPTED_VALUES}")
    return value


ValueInput = Annotated[
    Annotated[str, Field(max_length=VALUE_TEXT_MAX)] | float | Annotated[list[float], Field(max_length=2)],
    AfterValidator(_finite),
    Field(
        description="As the strategy writes values (`81,5%`, `29,72`, `12/940`, `+8%`, `Palielinās`) or as people "
        "type them (`81,5 %`, `13 404`, `12 / 940`, `palielinās`; ASCII digits), or a number, or a pair "
        "`[units, days]`. Stored as the strategy would print it.",
        examples=["81,5%", 81.5, [12, 940]],
    ),
]


class MeasurementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=1900, le=2100)
    value: ValueInput
    institution: str | None = Field(None, max_length=64)
    comment: str | None = Field(None, max_length=COMMENT_MAX)
    source: str | None = Field(None, max_length=SOURCE_MAX)


class MeasurementOut(BaseModel):
    id: uuid.UUID
    indicator_id: uuid.UUID
    year: int
    institution: InstitutionRef | None
    revision: int
    text: str
    kind: ValueKind
    value: float | None
    pair: list[float] | None
    comment: str | None
    source: str | None
    status: Status
    posted_by: str
    posted_by_subject: str | None
    posted_by_name: str | None
    posted_at: dt.datetime
    reviewed_by: str | None
    reviewed_by_subject: str | None
    reviewed_by_name: str | None
    reviewed_at: dt.datetime | None
    review_comment: str | None
    previous_text: str | None


class YearActual(BaseModel):
    year: int
    institution: InstitutionRef | None
    current: MeasurementOut = Field(description="The latest revision, whatever its status.")
    official: MeasurementOut | None = Field(description="The latest approved revision: the year's official actual.")


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(None, max_length=COMMENT_MAX, description="Required when returning a value.")


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=1900, le=2100)
    institution: str | None = Field(None, max_length=64)
    status: ProgressStatus
    comment: str | None = Field(None, max_length=COMMENT_MAX)


class ProgressOut(BaseModel):
    indicator_id: uuid.UUID
    code: str
    year: int
    institution: InstitutionRef | None
    target: str | None
    actual: str | None
    status: ProgressStatus
    ratio: float | None


class ProgressCounts(BaseModel):
    achieved: int = 0
    on_track: int = 0
    off_track: int = 0
    no_data: int = 0
    not_applicable: int = 0


class GoalProgress(BaseModel):
    goal_id: uuid.UUID
    area_code: str
    number: int
    counts: ProgressCounts


class AreaProgress(BaseModel):
    area_id: uuid.UUID
    code: str
    counts: ProgressCounts


class ProgressSummary(BaseModel):
    year: int
    areas: list[AreaProgress]
    goals: list[GoalProgress]


class ImportRowError(BaseModel):
    row: int = Field(description="Line number in the CSV, the header being line 1.")
    field: str | None
    reason: str


class ImportOutcome(StrEnum):
    created = "created"
    corrected = "corrected"
    unchanged = "unchanged"
    empty = "empty"


class ImportRowResult(BaseModel):
    row: int = Field(description="Line number in the CSV, the header being line 1.")
    outcome: ImportOutcome = Field(
        description="created: the year's first value; corrected: a new revision of the one the row named; "
        "unchanged: equal to the current revision, nothing written; empty: no value, nothing to post."
    )
    revision: int | None = Field(description="The year's current revision after the import.")


class ImportResult(BaseModel):
    created: int
    corrected: int
    unchanged: int
    empty: int
    written: int = Field(description="Revisions written: created + corrected.")
    rows: list[ImportRowResult]
    measurements: list[MeasurementOut] = Field(description="The revisions written.")
    encoding: Literal["utf-8", "windows-1257", "xlsx"] = Field(
        description="How the file's bytes were read: the CSV's encoding, or `xlsx` for an Excel workbook."
    )
    separator: Literal[",", ";"] | None = Field(description="The CSV's column separator; null for a workbook.")


class AuditOut(BaseModel):
    id: int
    at: dt.datetime
    role: str
    institution_code: str | None
    subject: str | None = Field(description="The person who made the change (`sub`); null for a token's change.")
    subject_name: str | None = Field(description="That person's display name, if the provider gave one.")
    issuer: str | None = Field(description="The identity provider the person signed in at.")
    action: str
    entity: str
    entity_id: str
    before: dict | None
    after: dict | None


class SlotState(StrEnum):
    due = "due"
    submitted = "submitted"
    returned = "returned"
    approved = "approved"
    late = "late"  # no value yet and the due date has passed: computed, never stored


class ReportingSlot(BaseModel):
    indicator_id: uuid.UUID
    code: str
    year: int
    institution: InstitutionRef | None
    owed_by: list[str]
    state: SlotState
    revision: int | None
    value: str | None


class SlotCounts(BaseModel):
    due: int = 0
    submitted: int = 0
    returned: int = 0
    approved: int = 0
    late: int = 0
    total: int = 0


class ReportingExceptionOut(BaseModel):
    institution: str
    until: dt.date
    reason: str
    granted_by: str


class ReportingPeriodOut(BaseModel):
    strategy: str = Field(description="The strategy's key.")
    year: int
    opens_on: dt.date
    due_on: dt.date
    closed: bool
    closed_at: dt.datetime | None
    closed_by: str | None
    exceptions: list[ReportingExceptionOut]


class ReportingCalendar(BaseModel):
    period: ReportingPeriodOut
    institution: str | None
    counts: SlotCounts
    slots: list[ReportingSlot]


REASON_MAX = 2000
InputDate = Annotated[dt.date, WithJsonSchema({"type": "string", "format": "date", "maxLength": 10})]


class ReportingDatesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opens_on: InputDate
    due_on: InputDate


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=REASON_MAX, description="Why the closed year is opened again.")


class ExceptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    institution: str = Field(min_length=1, max_length=64)
    until: InputDate = Field(description="The last day (inclusive) the institution may still write the closed year.")
    reason: str = Field(min_length=1, max_length=REASON_MAX)
