"""The reporting cycle in GraphQL: a year's slots (`reporting`) and the measurement reads as they stood at a moment
(`asOf`). Both call the functions REST calls (reporting.py, reads.py); the types of an actual, a progress entry
and the progress summary are measurements/graphql.py's."""

import datetime as dt

import strawberry
from strawberry.types import Info

from service.core.graphql import Context
from service.core.graphql_cost import at_most, first_page
from service.core.graphql_types import (
    AreaFilterArgument,
    IndicatorIdArgument,
    InstitutionFilterArgument,
    PageAfterArgument,
    PageBeforeArgument,
    PageFirstArgument,
    PageLastArgument,
    StrategyFilterArgument,
    ValueInstitutionArgument,
    YearArgument,
    described,
    graphql_enum,
)
from service.core.pagination import Window
from service.measurements import reads, reporting
from service.measurements.graphql import (
    HISTORY_PAGE,
    Actual,
    ActualConnection,
    Progress,
    ProgressSummary,
    _indicator_id,
    actuals_of_outputs,
    history_of,
    institutions_named,
    named_institution,
    progress_summary_of,
)
from service.measurements.schemas import ProgressOut, SlotState

ReportingSlotState = graphql_enum(
    SlotState,
    name="ReportingSlotState",
    description="Where a value owed for the reporting year stands.",
    values={"due": "Not posted yet; the due date has not passed.", "submitted": "Posted, awaiting review.",
            "returned": "Sent back for a correction.", "approved": "Approved: the official actual.",
            "late": "Not posted and the due date has passed."},
)  # fmt: skip
SLOTS_MAX = 2000  # the sector strategy has 60 indicators; a year's slots of every institution stay far below


@strawberry.type(description="A value owed for the year: an indicator's, for one institution where it has its own.")
class ReportingSlot:
    indicator_id: strawberry.ID = strawberry.field(
        description="The indicator's id as REST gives it (its node's `rowId`)."
    )
    code: str = strawberry.field(description="The indicator's code, e.g. `1.1.3`.")
    year: int = strawberry.field(description="The year the value is for.")
    institution: str | None = strawberry.field(
        description="The institution whose own value this is; null where the indicator has one value for all."
    )
    owed_by: list[str] = strawberry.field(
        metadata=at_most(30), description="Codes of the institutions that may post it."
    )
    state: ReportingSlotState = strawberry.field(description="Where the value stands.")
    revision: int | None = strawberry.field(
        description="The current revision's number, the one a correction names as expected; null before a post."
    )
    value: str | None = strawberry.field(description="The current revision's text; null before a post.")


@strawberry.type(description="How many owed values stand in each state.")
class ReportingSlotCounts:
    due: int = strawberry.field(description="Not posted, not yet late.")
    submitted: int = strawberry.field(description="Posted, awaiting review.")
    returned: int = strawberry.field(description="Sent back for a correction.")
    approved: int = strawberry.field(description="Approved.")
    late: int = strawberry.field(description="Not posted after the due date.")
    total: int = strawberry.field(description="All owed values.")


@strawberry.type(description="An institution given until a later date to report, and why.")
class ReportingException:
    institution: str = strawberry.field(description="The institution's code.")
    until: dt.date = strawberry.field(description="The date it has until.")
    reason: str = strawberry.field(description="Why.")


@strawberry.type(description="A strategy's reporting year: its dates, whether it is closed, and what is owed.")
class ReportingYear:
    year: int = strawberry.field(description="The year reported on.")
    opens_on: dt.date = strawberry.field(description="The first day values may be posted.")
    due_on: dt.date = strawberry.field(description="The last day they are due.")
    closed: bool = strawberry.field(description="Whether the year is closed: no more posts or corrections.")
    closed_at: dt.datetime | None = strawberry.field(description="When it was closed.")
    closed_by: str | None = strawberry.field(description="Who closed it.")
    exceptions: list[ReportingException] = strawberry.field(
        description="Institutions given until a later date.", metadata=at_most(100)
    )
    institution: str | None = strawberry.field(
        description="The institution whose owed values these are; null: every institution's."
    )
    counts: ReportingSlotCounts = strawberry.field(description="How many owed values stand in each state.")
    slots: list[ReportingSlot] = strawberry.field(
        description="Each owed value and where it stands.", metadata=at_most(SLOTS_MAX)
    )


async def _progress(info: Info[Context, None], entries: list[ProgressOut]) -> list[Progress]:
    institutions = await institutions_named(info, entries)
    return [
        Progress(year=p.year, target=p.target, actual=p.actual, status=p.status, ratio=p.ratio,
                 institution=named_institution(institutions, p))
        for p in entries
    ]  # fmt: skip


@strawberry.type(description="The measurements as they stood at `at`: revisions posted by then, reviews made by then.")
class AsOfView:
    at: dt.datetime = strawberry.field(description="The moment the answers are as of.")

    @strawberry.field(description="The revision current at `at` of every year (and institution).", metadata=at_most(50))
    async def actuals(self, info: Info[Context, None], indicator_id: IndicatorIdArgument) -> list[Actual]:
        years = await info.context.run(reads.actuals, _indicator_id(indicator_id), self.at)
        return await actuals_of_outputs(info, [y.current for y in years])

    @strawberry.field(description="The official (approved by `at`) actual of every year.", metadata=at_most(50))
    async def official(self, info: Info[Context, None], indicator_id: IndicatorIdArgument) -> list[Actual]:
        years = await info.context.run(reads.actuals, _indicator_id(indicator_id), self.at)
        return await actuals_of_outputs(info, [y.official for y in years if y.official is not None])

    @strawberry.field(
        description=f"The revisions of the year posted by `at`, as they stood then, oldest first: a Relay page at a "
        f"time ({HISTORY_PAGE} unless `first` or `last` says).",
        metadata=first_page(HISTORY_PAGE),
    )
    async def history(
        self,
        info: Info[Context, None],
        indicator_id: IndicatorIdArgument,
        year: YearArgument,
        institution: ValueInstitutionArgument = None,
        first: PageFirstArgument = None,
        after: PageAfterArgument = None,
        last: PageLastArgument = None,
        before: PageBeforeArgument = None,
    ) -> ActualConnection:
        window = Window.of(first=first, after=after, last=last, before=before, default=HISTORY_PAGE)
        return await history_of(info, indicator_id, year, institution, window, self.at)

    @strawberry.field(description="Target, official actual and status of every target year.", metadata=at_most(50))
    async def progress(self, info: Info[Context, None], indicator_id: IndicatorIdArgument) -> list[Progress]:
        entries = await info.context.run(reads.indicator_progress_of, _indicator_id(indicator_id), self.at)
        return await _progress(info, entries)

    @strawberry.field(description="Per area and goal: how many indicators stood where in `year`.")
    async def progress_summary(
        self,
        info: Info[Context, None],
        year: YearArgument,
        strategy: StrategyFilterArgument = None,
        area: AreaFilterArgument = None,
        institution: InstitutionFilterArgument = None,
    ) -> ProgressSummary:
        return await progress_summary_of(info, year, strategy, area, institution, self.at)


ReportingStrategyArgument = described(str | None, "The strategy (id or key) whose reporting year to show.")
ReportingInstitutionArgument = described(
    str | None, "Admin: the institution (code) whose owed values to show; an agency sees its own."
)


@strawberry.type
class ReportingQuery:
    @strawberry.field(
        description="The year's reporting calendar: dates, closing, and each slot the institution owes with its "
        "state (`LATE`: no value after the due date). Needs a token: an agency sees its own, an admin any or all."
    )
    async def reporting(
        self,
        info: Info[Context, None],
        year: YearArgument,
        strategy: ReportingStrategyArgument = None,
        institution: ReportingInstitutionArgument = None,
    ) -> ReportingYear:
        principal = await info.context.caller()
        calendar = await info.context.run(reporting.calendar, principal, strategy, year, institution)
        period = calendar.period
        return ReportingYear(
            year=period.year, opens_on=period.opens_on, due_on=period.due_on, closed=period.closed,
            closed_at=period.closed_at, closed_by=period.closed_by,
            exceptions=[ReportingException(institution=e.institution, until=e.until, reason=e.reason)
                        for e in period.exceptions],
            institution=calendar.institution, counts=ReportingSlotCounts(**calendar.counts.model_dump()),
            slots=[
                ReportingSlot(indicator_id=strawberry.ID(str(s.indicator_id)), code=s.code, year=s.year,
                              institution=s.institution.code if s.institution else None, owed_by=s.owed_by,
                              state=s.state, revision=s.revision, value=s.value)
                for s in calendar.slots
            ],
        )  # fmt: skip

    @strawberry.field(description="The measurement reads as they stood at `at` (RFC 3339), e.g. a closed year's.")
    def as_of(self, at: described(dt.datetime, "The moment to read the measurements as they stood at.")) -> AsOfView:
        return AsOfView(at=at)
