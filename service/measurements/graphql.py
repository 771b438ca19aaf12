"""Measurements in GraphQL: an indicator's actuals and progress, the progress summary, and the write mutations."""

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Annotated

import strawberry
from strawberry.types import Info

from service.core.errors import BadRequest, quoted
from service.core.graphql import Context
from service.core.graphql_bounds import at_most_characters, max_length
from service.core.graphql_cost import at_most
from service.core.graphql_types import validated_input
from service.core.preconditions import as_entity_tag
from service.measurements import models, progress, repository, service
from service.measurements.schemas import COMMENT_MAX, SOURCE_MAX, MeasurementIn, MeasurementOut
from service.registry import models as registry_models
from service.registry import repository as registry_repository
from service.registry.graphql import Institution, load_institution
from service.strategy import models as strategy_models
from service.strategy import repository as strategy_repository
from service.strategy.service import indicator_query

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
    institution_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def of(cls, out: MeasurementOut) -> "Actual":
        return cls(
            id=strawberry.ID(str(out.id)), year=out.year, revision=out.revision, text=out.text, value=out.value,
            pair=out.pair, status=out.status, comment=out.comment, source=out.source, posted_by=out.posted_by,
            posted_by_subject=out.posted_by_subject, posted_by_name=out.posted_by_name, posted_at=out.posted_at,
            reviewed_by=out.reviewed_by, reviewed_by_subject=out.reviewed_by_subject,
            reviewed_by_name=out.reviewed_by_name, reviewed_at=out.reviewed_at,
            review_comment=out.review_comment, previous_text=out.previous_text,
            institution_id=out.institution.id if out.institution else None,
        )  # fmt: skip

    @strawberry.field
    async def institution(self, info: Info[Context, None]) -> Institution | None:
        return await load_institution(info, self.institution_id)


@strawberry.type(description="A target year: the target, the official actual and where it stands.")
class Progress:
    year: int
    target: str | None
    actual: str | None
    status: ProgressStatus
    ratio: float | None = strawberry.field(description="How far from the baseline to the target the actual has come.")
    institution_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def institution(self, info: Info[Context, None]) -> Institution | None:
        return await load_institution(info, self.institution_id)


async def _institutions_of(
    info: Info[Context, None], ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, registry_models.Institution]:
    """The institutions the service's output names, batched with every other indicator's of the request."""
    wanted = list({i for i in ids if i is not None})
    rows = await info.context.loader(registry_repository.institutions_by_ids).load_many(wanted)
    return {row.id: row for row in rows if row is not None}


async def indicator_actuals(info: Info[Context, None], indicator: strategy_models.Indicator) -> list[Actual]:
    """The current revision of every year (and institution) of the indicator."""
    rows = await info.context.loader(repository.current_by_indicator, missing=list).load(indicator.id)
    institutions = await _institutions_of(info, (row.institution_id for row in rows))
    return [Actual.of(service.measurement_out(row, institutions)) for row in rows]


async def indicator_progress(info: Info[Context, None], indicator: strategy_models.Indicator) -> list[Progress]:
    values = await info.context.loader(strategy_repository.values_by_indicator, missing=list).load(indicator.id)
    official = await info.context.loader(repository.official_by_indicator, missing=list).load(indicator.id)
    assessed = await info.context.loader(repository.assessments_by_indicator, missing=list).load(indicator.id)
    institutions = await _institutions_of(info, (value.institution_id for value in values))
    return [
        Progress(year=p.year, target=p.target, actual=p.actual, status=p.status, ratio=p.ratio,
                 institution_id=p.institution.id if p.institution else None)
        for p in service.indicator_progress(indicator, values, official, assessed, institutions)
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
        query = await info.context.run(indicator_query, strategy=strategy, area=area, institution=institution)
        summary = await info.context.run(service.progress_summary, query, year)
        return ProgressSummary(
            year=summary.year,
            areas=[AreaProgress(code=a.code, counts=ProgressCounts(**a.counts.model_dump())) for a in summary.areas],
            goals=[
                GoalProgress(area_code=g.area_code, number=g.number, counts=ProgressCounts(**g.counts.model_dump()))
                for g in summary.goals
            ],
        )


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
        service.review, principal, _indicator_id(indicator_id), year, institution, approve=approve, comment=comment
    )
    return Actual.of(out)


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
            service.record_measurement, principal, _indicator_id(input.indicator_id), payload,
            if_match=as_entity_tag(input.if_match) if input.if_match is not None else None,
            idempotency_key=input.idempotency_key,
        )  # fmt: skip
        return Actual.of(MeasurementOut.model_validate(written.body))

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
