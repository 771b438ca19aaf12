"""Posting and correcting a measurement: each post is a new revision of its slot (indicator, year, institution),
checked against the current one (If-Match) under the slot's lock, audited, idempotent."""

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.core import audit, idempotency, journal, preconditions
from service.core.auth import Principal
from service.core.db import retrying_conflicts
from service.core.errors import Problem, quoted
from service.measurements import periods, repository
from service.measurements.models import Measurement, Status
from service.measurements.schemas import (
    MeasurementIn,
    MeasurementOut,
)
from service.measurements.values import (
    IndicatorContext,
    authorize,
    indicator_context,
    resolve_institution,
    validate_value,
    validate_year,
)
from service.registry.models import Institution
from service.registry.service import institution_ref
from service.strategy.values import ParsedValue, published


def measurement_out(
    row: Measurement, institutions: dict[uuid.UUID, Institution], previous_text: str | None = None
) -> MeasurementOut:
    institution = institutions.get(row.institution_id) if row.institution_id else None
    value, pair = published(row.number, row.second)
    return MeasurementOut(
        id=row.id,
        indicator_id=row.indicator_id,
        year=row.year,
        institution=institution_ref(institution) if institution else None,
        revision=row.revision,
        text=row.text,
        kind=row.kind,
        value=value,
        pair=pair,
        comment=row.comment,
        source=row.source,
        status=row.status,
        posted_by=row.posted_by,
        posted_by_subject=row.posted_by_subject,
        posted_by_name=row.posted_by_name,
        posted_at=row.posted_at,
        reviewed_by=row.reviewed_by,
        reviewed_by_subject=row.reviewed_by_subject,
        reviewed_by_name=row.reviewed_by_name,
        reviewed_at=row.reviewed_at,
        review_comment=row.review_comment,
        previous_text=previous_text,
    )


async def locked_current(
    session: AsyncSession, indicator_id: uuid.UUID, year: int, institution_id: uuid.UUID | None
) -> Measurement | None:
    """The current revision, read after taking the slot's lock so that concurrent writers queue up."""
    await repository.lock_slots(session, [(indicator_id, year, institution_id)])
    return await repository.current_revision(session, indicator_id, year, institution_id)


def revision_etag(revision_id: uuid.UUID | str) -> str:
    """The ETag of a revision, which a correction sends back as If-Match."""
    return f'"{revision_id}"'


def revision_snapshot(row: Measurement | None) -> dict | None:
    if row is None:
        return None
    # The slot it is a revision of, so an integrator reading the audit entry or webhook event alone knows it.
    return {
        "year": row.year,
        "institution_id": str(row.institution_id) if row.institution_id else None,
        "revision": row.revision,
        "text": row.text,
        "status": str(row.status),
        "comment": row.comment,
        "review_comment": row.review_comment,
    }


@dataclass(frozen=True)
class Written:
    status_code: int
    body: dict
    etag: str
    replayed: bool = False


@dataclass(frozen=True)
class Posting:
    """A validated, authorized value waiting to be written."""

    ctx: IndicatorContext
    institution: Institution | None
    year: int
    text: str
    parsed: ParsedValue
    comment: str | None
    source: str | None

    @property
    def institution_id(self) -> uuid.UUID | None:
        return self.institution.id if self.institution else None


async def prepare(
    session: AsyncSession, principal: Principal, ctx: IndicatorContext, payload: MeasurementIn
) -> Posting:
    posting = await prepare_in_any_period(session, principal, ctx, payload)
    await ensure_period_open(session, principal, posting)
    return posting


async def prepare_in_any_period(
    session: AsyncSession, principal: Principal, ctx: IndicatorContext, payload: MeasurementIn
) -> Posting:
    """`prepare` without the closed-year check: for an import, whose unchanged rows may name a closed year."""
    institution = await resolve_institution(session, ctx, payload.institution)
    authorize(principal, ctx, institution)
    validate_year(ctx, payload.year)
    text, parsed = validate_value(ctx, payload.value)
    return Posting(ctx, institution, payload.year, text, parsed, payload.comment, payload.source)


async def ensure_period_open(session: AsyncSession, principal: Principal, posting: Posting) -> None:
    writer = posting.institution.code if posting.institution else principal.institution_code
    await periods.ensure_open(session, posting.ctx.strategy.id, posting.year, {writer})


async def append_revision(
    session: AsyncSession, principal: Principal, posting: Posting, current: Measurement | None
) -> Measurement:
    """The next revision, audited; the request commits."""
    row = Measurement(
        indicator_id=posting.ctx.indicator.id,
        year=posting.year,
        institution_id=posting.institution_id,
        revision=(current.revision + 1) if current else 1,
        text=posting.text,
        kind=posting.parsed.kind.value,
        number=posting.parsed.number,
        second=posting.parsed.second,
        comment=posting.comment,
        source=posting.source,
        status=Status.submitted,
        posted_by=principal.describe(),
        posted_by_token=principal.token_id,
        posted_by_subject=principal.subject,
        posted_by_name=principal.name,
        posted_at=dt.datetime.now(dt.UTC),
    )
    conflict = "Another value for the same year was posted at the same moment; fetch it and correct it."
    async with journal.savepoint(session, "measurement", conflict):
        session.add(row)
    action = "correct" if current else "create"
    await audit.record(
        session, principal, action, "measurement", row.id, revision_snapshot(current), revision_snapshot(row),
        parent=("indicator", row.indicator_id),
    )  # fmt: skip
    return row


def _check_precondition(current: Measurement | None, if_match: str | None, year: int) -> None:
    tags = preconditions.parse("If-Match", if_match) if if_match is not None else None
    if current is not None:
        # `*` matches any current revision, so it would let a correction overwrite one its sender never saw.
        if tags is None or tags == preconditions.ANY:
            raise Problem(
                428,
                f"A value for {year} exists (revision {current.revision}); a correction must send "
                f"If-Match: {revision_etag(current.id)}, the ETag of the current revision (not `*`), "
                "so that it cannot overwrite a change it has not seen.",
            )
        if not preconditions.strong_match(tags, revision_etag(current.id)):
            raise Problem(
                412,
                f"The value changed meanwhile: the current revision is {current.revision}, "
                f"ETag {revision_etag(current.id)}.",
            )
    elif tags is not None:
        raise Problem(412, f"There is no value for {year} yet to match {quoted(if_match)}; post it without If-Match.")


async def record_measurement(
    session: AsyncSession,
    principal: Principal,
    indicator_id: uuid.UUID,
    payload: MeasurementIn,
    *,
    if_match: str | None,
    idempotency_key: str | None,
) -> Written:
    """Post a year's actual, or correct it: every post is a new revision, none overwrites another."""
    posting = await prepare(session, principal, await indicator_context(session, indicator_id), payload)
    fingerprint = None
    if idempotency_key is not None:
        fingerprint = idempotency.fingerprint("measurement", str(indicator_id), payload.model_dump(mode="json"))

    async def write() -> Written:
        if idempotency_key is not None:
            earlier = await idempotency.claim(session, principal.key, idempotency_key, fingerprint)
            if earlier is not None:
                return Written(earlier.status_code, earlier.body, revision_etag(earlier.body["id"]), replayed=True)
        current = await locked_current(session, indicator_id, posting.year, posting.institution_id)
        _check_precondition(current, if_match, posting.year)
        row = await append_revision(session, principal, posting, current)
        institutions = {posting.institution.id: posting.institution} if posting.institution else {}
        body = measurement_out(row, institutions, current.text if current else None).model_dump(mode="json")
        if idempotency_key is not None:
            await idempotency.remember(session, principal.key, idempotency_key, 201, body)
        return Written(201, body, revision_etag(row.id))

    return await retrying_conflicts(session, write)
