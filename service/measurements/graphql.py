"""Measurements in GraphQL: an indicator's actuals and progress, the progress summary, and the write mutations."""

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated

import strawberry
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from service.core.errors import BadRequest, quoted
from service.core.graphql import Context
from service.core.graphql_bounds import at_most_characters, max_length
from service.core.graphql_cost import at_most
from service.core.graphql_types import validated_input
from service.core.preconditions import as_entity_tag
from service.measurements import models, progress, reads, reviews, revisions
from service.measurements.schemas import COMMENT_MAX, SOURCE_MAX, MeasurementIn, MeasurementOut
from service.registry.graphql import Institution, load_institution
from service.strategy.models import Indicator
from service.strategy.reads import Loaded
from service.strategy.service import indicator_query
from service.strategy.values import published

MeasurementStatus = strawberry.enum(models.Status, name="MeasurementStatus")
ProgressStatus = strawberry.enum(progress.ProgressStatus)

COMMENT = strawberry.argument(description=at_most_characters(COMMENT_MAX), metadata=max_length(COMMENT_MAX))
CommentArgument = Annotated[str | None, COMMENT]


@strawberry.type(description="One revision of a year's actual.")
class Actual:
    id: strawberry.ID
    year: int
    revision: int
    text: str
    value: float | None
    pair: list[float] | None
    status: MeasurementStatus
    comment: str | None
    source: str | None
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
    institution: Institution | None

    @classmethod
    def of_row(cls, row: Row, institution: Institution | None) -> "Actual":
        """A revision the read path loaded (the current one of its year: `previousText` is a history's)."""
        value, pair = published(row.number, row.second)
        return cls(
            id=strawberry.ID(str(row.id)), year=row.year, revision=row.revision, text=row.text, value=value,
            pair=pair, status=row.status, comment=row.comment, source=row.source, posted_by=row.posted_by,
            posted_by_subject=row.posted_by_subject, posted_by_name=row.posted_by_name, posted_at=row.posted_at,
            reviewed_by=row.reviewed_by, reviewed_by_subject=row.reviewed_by_subject,
            reviewed_by_name=row.reviewed_by_name, reviewed_at=row.reviewed_at,
            review_comment=row.review_comment, previous_text=None, institution=institution,
        )  # fmt: skip

    @classmethod
    def of(cls, out: MeasurementOut, institution: Institution | None) -> "Actual":
        """A write's answer, as the write path gives it to REST too."""
        return cls(
            id=strawberry.ID(str(out.id)), year=out.year, revision=out.revision, text=out.text, value=out.value,
            pair=out.pair, status=out.status, comment=out.comment, source=out.source, posted_by=out.posted_by,
            posted_by_subject=out.posted_by_subject, posted_by_name=out.posted_by_name, posted_at=out.posted_at,
            reviewed_by=out.reviewed_by, reviewed_by_subject=out.reviewed_by_subject,
            reviewed_by_name=out.reviewed_by_name, reviewed_at=out.reviewed_at,
            review_comment=out.review_comment, previous_text=out.previous_text, institution=institution,
        )  # fmt: skip


async def actuals_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Actual]:
    """These revisions as they stand now, in the order of `ids` (a subscription's page)."""
    rows, institutions = await reads.revisions_by_ids(session, ids)
    return [
        Actual.of_row(row, Institution.of(institutions[row.institution_id]) if row.institution_id else None)
        for row in rows
    ]


@strawberry.type(description="A target year: the target, the official actual and where it stands.")
class Progress:
    year: int
    target: str | None
    actual: str | None
    status: ProgressStatus
    ratio: float | None = strawberry.field(description="How far from the baseline to the target the actual has come.")
    institution: Institution | None


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


@strawberry.type
class ProgressCounts:
    achieved: int
    on_track: int
    off_track: int
    no_data: int
    not_applicable: int


@strawberry.type
class AreaProgress:
    code: str
    counts: ProgressCounts


@strawberry.type
class GoalProgress:
    area_code: str
    number: int
    counts: ProgressCounts


@strawberry.type
class ProgressSummary:
    year: int
    areas: list[AreaProgress] = strawberry.field(metadata=at_most(10))
    goals: list[GoalProgress] = strawberry.field(metadata=at_most(30))


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
        year: int,
        strategy: str | None = None,
        area: str | None = None,
        institution: str | None = None,
    ) -> ProgressSummary:
        return await progress_summary_of(info, year, strategy, area, institution)


@strawberry.input
class RecordMeasurementInput:
    indicator_id: strawberry.ID
    year: int
    value: str | None = strawberry.field(default=None, description="As the strategy writes values: `81,5%`, `29,72`.")
    number: float | None = strawberry.field(default=None, description="Or a number.")
    pair: list[float] | None = strawberry.field(default=None, description="Or a pair: [units, days].")
    institution: str | None = None
    comment: str | None = strawberry.field(
        default=None, description=at_most_characters(COMMENT_MAX), metadata=max_length(COMMENT_MAX)
    )
    source: str | None = strawberry.field(
        default=None, description=at_most_characters(SOURCE_MAX), metadata=max_length(SOURCE_MAX)
    )
    if_match: str | None = strawberry.field(default=None, description="ETag (id) of the current revision, to correct.")
    idempotency_key: str | None = None


def _indicator_id(value: strawberry.ID) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise BadRequest(f"{quoted(value)} is not an indicator id.") from None


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
    async def record_measurement(self, info: Info[Context, None], input: RecordMeasurementInput) -> Actual:
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
        self, info: Info[Context, None], indicator_id: strawberry.ID, year: int,
        institution: str | None = None, comment: CommentArgument = None,
    ) -> Actual:  # fmt: skip
        return await _review(info, indicator_id, year, institution, comment, approve=True)

    @strawberry.mutation(description="Admin: send the current revision back with a comment.")
    async def return_measurement(
        self, info: Info[Context, None], indicator_id: strawberry.ID, year: int, comment: Annotated[str, COMMENT],
        institution: str | None = None,
    ) -> Actual:  # fmt: skip
        return await _review(info, indicator_id, year, institution, comment, approve=False)
