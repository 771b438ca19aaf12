"""Measurements in GraphQL: an indicator's actuals and progress, the progress summary, and the write mutations."""

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, ClassVar

import strawberry
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.types import Info

from service.core.errors import BadRequest
from service.core.graphql import Context
from service.core.graphql_bounds import at_most_characters, max_length
from service.core.graphql_cost import PAGE_OF_FIRST, at_most, first_page
from service.core.graphql_types import (
    GLOBAL_ID,
    ROW_ID,
    AreaFilterArgument,
    IndicatorIdArgument,
    InstitutionFilterArgument,
    PageAfterArgument,
    PageBeforeArgument,
    PageFirstArgument,
    PageInfo,
    PageLastArgument,
    StrategyFilterArgument,
    ValueInstitutionArgument,
    YearArgument,
    described,
    global_id,
    graphql_enum,
    page_info,
    row_id_of,
    validated_input,
)
from service.core.pagination import DEFAULT_LIMIT, Window
from service.core.preconditions import as_entity_tag
from service.measurements import models, progress, reads, reviews, revisions
from service.measurements.repository import Slot
from service.measurements.schemas import COMMENT_MAX, SOURCE_MAX, MeasurementIn, MeasurementOut
from service.registry.graphql import Institution, load_institution, load_institutions
from service.strategy.models import Indicator
from service.strategy.reads import Loaded
from service.strategy.service import indicator_query
from service.strategy.values import published

MeasurementStatus = graphql_enum(
    models.Status,
    name="MeasurementStatus",
    description="Where a revision of an actual stands in the ministry's review.",
    values={"submitted": "Posted by the agency, not yet reviewed.",
            "approved": "Approved by the ministry: the year's official actual.",
            "returned": "Sent back by the ministry with a comment; the agency corrects it."},
)  # fmt: skip
ProgressStatus = graphql_enum(
    progress.ProgressStatus,
    description="Where a target year stands.",
    values={"achieved": "The official actual reaches the target.",
            "on_track": "Not reached yet, but on the way from the baseline to the target.",
            "off_track": "Behind the way from the baseline to the target.",
            "no_data": "No official actual for the year yet.",
            "not_applicable": "The target is not a number progress can be measured against."},
)  # fmt: skip

COMMENT = strawberry.argument(description=at_most_characters(COMMENT_MAX), metadata=max_length(COMMENT_MAX))
CommentArgument = Annotated[str | None, COMMENT]


@strawberry.type(description="One revision of a year's actual.")
class Actual(relay.Node):
    _id_attr: ClassVar[str] = "row_id"
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    year: int = strawberry.field(description="The year the value is for.")
    revision: int = strawberry.field(description="1 for the first post, one more for each correction.")
    text: str = strawberry.field(description="The value as posted: `81,5%`, `29,72`.")
    value: float | None = strawberry.field(
        description="The number; the percentage for a percent value; null for a qualitative one."
    )
    pair: list[float] | None = strawberry.field(description="Both numbers of a pair value (units / days).")
    status: MeasurementStatus = strawberry.field(description="Where it stands in the ministry's review.")
    comment: str | None = strawberry.field(description="The poster's comment.")
    source: str | None = strawberry.field(description="Where the poster took the value from.")
    posted_by: str = strawberry.field(description="Who posted it: `agency:<code>` or `admin:-`.")
    posted_by_subject: str | None = strawberry.field(
        description="The signed-in person's subject (OpenID Connect) who posted it."
    )
    posted_by_name: str | None = strawberry.field(description="That person's display name, if the provider gave one.")
    posted_at: dt.datetime = strawberry.field(description="When it was posted.")
    reviewed_by: str | None = strawberry.field(description="Who reviewed it; null until reviewed.")
    reviewed_by_subject: str | None = strawberry.field(description="The reviewing person's subject (OpenID Connect).")
    reviewed_by_name: str | None = strawberry.field(description="That person's display name, if the provider gave one.")
    reviewed_at: dt.datetime | None = strawberry.field(description="When it was reviewed.")
    review_comment: str | None = strawberry.field(description="The reviewer's comment, e.g. why it was returned.")
    previous_text: str | None = strawberry.field(
        description="The text of the revision this one corrects; in a write's answer and a `history`, else null."
    )
    institution: Institution | None = strawberry.field(
        description="The institution the value is for, where the indicator has a value per institution."
    )

    @classmethod
    def of_row(cls, row: Row, institution: Institution | None) -> "Actual":
        """A revision the read path loaded (the current one of its year: `previousText` is a history's)."""
        value, pair = published(row.number, row.second)
        return cls(
            id=global_id("Actual", row.id), row_id=strawberry.ID(str(row.id)), year=row.year,
            revision=row.revision, text=row.text, value=value, pair=pair, status=row.status, comment=row.comment,
            source=row.source, posted_by=row.posted_by, posted_by_subject=row.posted_by_subject,
            posted_by_name=row.posted_by_name, posted_at=row.posted_at, reviewed_by=row.reviewed_by,
            reviewed_by_subject=row.reviewed_by_subject, reviewed_by_name=row.reviewed_by_name,
            reviewed_at=row.reviewed_at, review_comment=row.review_comment, previous_text=None,
            institution=institution,
        )  # fmt: skip

    @classmethod
    def of(cls, out: MeasurementOut, institution: Institution | None) -> "Actual":
        """A write's answer, as the write path gives it to REST too."""
        return cls(
            id=global_id("Actual", out.id), row_id=strawberry.ID(str(out.id)), year=out.year,
            revision=out.revision, text=out.text, value=out.value, pair=out.pair, status=out.status,
            comment=out.comment, source=out.source, posted_by=out.posted_by, posted_by_subject=out.posted_by_subject,
            posted_by_name=out.posted_by_name, posted_at=out.posted_at, reviewed_by=out.reviewed_by,
            reviewed_by_subject=out.reviewed_by_subject, reviewed_by_name=out.reviewed_by_name,
            reviewed_at=out.reviewed_at, review_comment=out.review_comment, previous_text=out.previous_text,
            institution=institution,
        )  # fmt: skip

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: list[uuid.UUID]) -> "list[Actual | None]":
        found = {actual.row_id: actual for actual in await info.context.run(actuals_by_ids, node_ids)}
        return [found.get(strawberry.ID(str(node_id))) for node_id in node_ids]


async def actuals_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Actual]:
    """These revisions as they stand now, in the order of `ids` (a subscription's page)."""
    rows, institutions = await reads.revisions_by_ids(session, ids)
    return [
        Actual.of_row(row, Institution.of(institutions[row.institution_id]) if row.institution_id else None)
        for row in rows
    ]


async def institutions_named(info: Info[Context, None], outputs: Sequence) -> dict[str, Institution]:
    """The GraphQL institutions the read path's outputs name, in one batch."""
    ids = list({out.institution.id for out in outputs if out is not None and out.institution is not None})
    return {institution.id: institution for institution in await load_institutions(info, ids)}


def named_institution(institutions: dict[str, Institution], out) -> Institution | None:
    return institutions[str(out.institution.id)] if out.institution is not None else None


async def actuals_of_outputs(info: Info[Context, None], outputs: Sequence[MeasurementOut]) -> list[Actual]:
    institutions = await institutions_named(info, outputs)
    return [Actual.of(out, named_institution(institutions, out)) for out in outputs]


HISTORY_PAGE = DEFAULT_LIMIT  # a year has a revision per post and correction: a handful


@strawberry.type(description="A revision on a page of a year's history, with its cursor.")
class ActualEdge:
    cursor: str = strawberry.field(
        description="Pass it as `after` for the later revisions, as `before` for the earlier ones."
    )
    node: Actual = strawberry.field(description="The revision.")


@strawberry.type(description="A page of a year's revisions, oldest first (a Relay connection).")
class ActualConnection:
    edges: list[ActualEdge] = strawberry.field(description="The revisions on this page.", metadata=PAGE_OF_FIRST)
    page_info: PageInfo = strawberry.field(description="Where this page stands: cursors, and whether more follow.")
    slot: strawberry.Private[Slot]
    as_of: strawberry.Private[dt.datetime | None]

    @strawberry.field(description="How many revisions the year has (had, as of a moment), on all pages.")
    async def total_count(self, info: Info[Context, None]) -> int:
        return await info.context.run(reads.count_revisions, self.slot, self.as_of)


async def history_of(
    info: Info[Context, None],
    indicator_id: strawberry.ID,
    year: int,
    institution: str | None,
    window: Window,
    as_of: dt.datetime | None = None,
) -> ActualConnection:
    """A page of the year's revisions through the read path REST's history takes, now or as of a moment."""
    part, slot = await info.context.run(
        reads.history_page, _indicator_id(indicator_id), year, institution, window, as_of
    )
    actuals = await actuals_of_outputs(info, part.rows)
    cursors = [reads.revision_cursor(out) for out in part.rows]
    edges = [ActualEdge(cursor=cursor, node=actual) for cursor, actual in zip(cursors, actuals, strict=True)]
    return ActualConnection(edges=edges, page_info=page_info(cursors, part), slot=slot, as_of=as_of)


@strawberry.type(description="A target year: the target, the official actual and where it stands.")
class Progress:
    year: int = strawberry.field(description="The target year.")
    target: str | None = strawberry.field(description="The target as printed.")
    actual: str | None = strawberry.field(description="The official (approved) actual; null until one is.")
    status: ProgressStatus = strawberry.field(description="Where the year stands.")
    ratio: float | None = strawberry.field(description="How far from the baseline to the target the actual has come.")
    institution: Institution | None = strawberry.field(
        description="The institution, where the indicator has values per institution."
    )


def _institution(loaded: Loaded, institution_id: uuid.UUID | None) -> Institution | None:
    return loaded.view(Institution, institution_id)


def actuals_of(loaded: Loaded, indicator: Row | Indicator) -> list[Actual]:
    """The current revision of every year (and institution) of an indicator the read path loaded."""
    rows = loaded.actuals.get(indicator.id, ())
    return [Actual.of_row(row, _institution(loaded, row.institution_id)) for row in rows]


def progress_of(loaded: Loaded, indicator: Row | Indicator) -> list[Progress]:
    return [
        Progress(year=p.year, target=p.target, actual=p.actual, status=p.status, ratio=p.ratio,
                 institution=_institution(loaded, p.institution.id if p.institution else None))
        for p in reads.loaded_progress(loaded, indicator)
    ]  # fmt: skip


@strawberry.type(description="How many indicators stand at each progress status.")
class ProgressCounts:
    achieved: int = strawberry.field(description="Indicators whose target is reached.")
    on_track: int = strawberry.field(description="Indicators on the way to their target.")
    off_track: int = strawberry.field(description="Indicators behind the way to their target.")
    no_data: int = strawberry.field(description="Indicators without an official actual.")
    not_applicable: int = strawberry.field(description="Indicators progress cannot be measured for.")


@strawberry.type(description="How many indicators of one policy area stand where in the year.")
class AreaProgress:
    code: str = strawberry.field(description="The policy area's code: `1`…`5`, `H1`, `H2`.")
    counts: ProgressCounts = strawberry.field(description="How many of its indicators stand where.")


@strawberry.type(description="How many indicators of one goal stand where in the year.")
class GoalProgress:
    area_code: str = strawberry.field(description="The code of the goal's policy area.")
    number: int = strawberry.field(description="The goal's number within its area.")
    counts: ProgressCounts = strawberry.field(description="How many of its indicators stand where.")


@strawberry.type(description="Per policy area and goal, how many indicators stand where in a year.")
class ProgressSummary:
    year: int = strawberry.field(description="The year.")
    areas: list[AreaProgress] = strawberry.field(description="Per policy area.", metadata=at_most(10))
    goals: list[GoalProgress] = strawberry.field(description="Per goal.", metadata=at_most(30))


async def progress_summary_of(
    info: Info[Context, None],
    year: int,
    strategy: str | None,
    area: str | None,
    institution: str | None,
    as_of: dt.datetime | None = None,
) -> ProgressSummary:
    """The progress summary REST gives, as GraphQL's types (now, or as it stood at `as_of`)."""
    query = await info.context.run(indicator_query, strategy=strategy, area=area, institution=institution)
    summary = await info.context.run(reads.progress_summary, query, year, as_of)
    return ProgressSummary(
        year=summary.year,
        areas=[AreaProgress(code=a.code, counts=ProgressCounts(**a.counts.model_dump())) for a in summary.areas],
        goals=[
            GoalProgress(area_code=g.area_code, number=g.number, counts=ProgressCounts(**g.counts.model_dump()))
            for g in summary.goals
        ],
    )


@strawberry.type
class MeasurementsQuery:
    @strawberry.field(description="Per area and goal: how many indicators stand where in `year`.")
    async def progress_summary(
        self,
        info: Info[Context, None],
        year: YearArgument,
        strategy: StrategyFilterArgument = None,
        area: AreaFilterArgument = None,
        institution: InstitutionFilterArgument = None,
    ) -> ProgressSummary:
        return await progress_summary_of(info, year, strategy, area, institution)

    @strawberry.field(
        description=f"The revisions of an indicator's year, oldest first, each with the value it corrected and its "
        f"review: a Relay page at a time ({HISTORY_PAGE} unless `first` or `last` says). `asOf` reads it as it stood.",
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
        return await history_of(info, indicator_id, year, institution, window)


@strawberry.input(description="A year's actual to post, or a correction of it (send `ifMatch`).")
class RecordMeasurementInput:
    indicator_id: strawberry.ID = strawberry.field(description="The indicator's `id` or `rowId`.")
    year: int = strawberry.field(description="The calendar year the value is for.")
    value: str | None = strawberry.field(default=None, description="As the strategy writes values: `81,5%`, `29,72`.")
    number: float | None = strawberry.field(default=None, description="Or a number.")
    pair: list[float] | None = strawberry.field(default=None, description="Or a pair: [units, days].")
    institution: str | None = strawberry.field(
        default=None, description="For an indicator with a value per institution: that institution's code."
    )
    comment: str | None = strawberry.field(
        default=None, description=at_most_characters(COMMENT_MAX), metadata=max_length(COMMENT_MAX)
    )
    source: str | None = strawberry.field(
        default=None, description=at_most_characters(SOURCE_MAX), metadata=max_length(SOURCE_MAX)
    )
    if_match: str | None = strawberry.field(
        default=None, description="To correct: the current revision's ETag (its `rowId`)."
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description="A key of your own: the same post sent again with it is answered, not repeated."
    )


def _indicator_id(value: strawberry.ID) -> uuid.UUID:
    return row_id_of(value, "Indicator", "an indicator")


async def _review(info: Info[Context, None], indicator_id, year, institution, comment, approve: bool) -> Actual:
    principal = await info.context.writer()
    out, _ = await info.context.run(
        reviews.review, principal, _indicator_id(indicator_id), year, institution, approve=approve, comment=comment
    )
    return await _actual(info, out)


async def _actual(info: Info[Context, None], out: MeasurementOut) -> Actual:
    """A written revision's answer, with its institution in full (one batched lookup)."""
    return Actual.of(out, await load_institution(info, out.institution.id if out.institution else None))


@strawberry.type
class MeasurementsMutation:
    @strawberry.mutation(description="Post a year's actual, or correct it (a new revision; send ifMatch).")
    async def record_measurement(
        self, info: Info[Context, None], input: described(RecordMeasurementInput, "The value to post.")
    ) -> Actual:
        principal = await info.context.writer()
        given = [v for v in (input.value, input.number, input.pair) if v is not None]
        if len(given) != 1:
            raise BadRequest("Give exactly one of `value`, `number` and `pair`.")
        fields = {"year": input.year, "value": given[0], "institution": input.institution,
                  "comment": input.comment, "source": input.source}  # fmt: skip
        payload = validated_input(MeasurementIn, fields)
        written = await info.context.run(
            revisions.record_measurement, principal, _indicator_id(input.indicator_id), payload,
            if_match=as_entity_tag(input.if_match) if input.if_match is not None else None,
            idempotency_key=input.idempotency_key,
        )  # fmt: skip
        return await _actual(info, MeasurementOut.model_validate(written.body))

    @strawberry.mutation(description="Admin: the current revision becomes the year's official actual.")
    async def approve_measurement(
        self, info: Info[Context, None], indicator_id: IndicatorIdArgument, year: YearArgument,
        institution: ValueInstitutionArgument = None, comment: CommentArgument = None,
    ) -> Actual:  # fmt: skip
        return await _review(info, indicator_id, year, institution, comment, approve=True)

    @strawberry.mutation(description="Admin: send the current revision back with a comment.")
    async def return_measurement(
        self, info: Info[Context, None], indicator_id: IndicatorIdArgument, year: YearArgument,
        comment: Annotated[str, COMMENT], institution: ValueInstitutionArgument = None,
    ) -> Actual:  # fmt: skip
        return await _review(info, indicator_id, year, institution, comment, approve=False)
