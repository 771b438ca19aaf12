"""The ministry's review of a revision (approve / return) and its assessment of a qualitative target."""

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from service.core import audit
from service.core.auth import Principal, require_admin
from service.core.db import retrying_conflicts
from service.core.errors import NotFound, Problem
from service.measurements import periods, repository
from service.measurements.models import Measurement, Status
from service.measurements.revisions import locked_current, measurement_out, revision_etag, revision_snapshot
from service.measurements.schemas import (
    AssessmentIn,
    MeasurementOut,
)
from service.measurements.values import Invalid, indicator_context, resolve_institution
from service.strategy.models import ValueKind, ValueRole


async def review(
    session: AsyncSession,
    principal: Principal,
    indicator_id: uuid.UUID,
    year: int,
    institution_code: str | None,
    *,
    approve: bool,
    comment: str | None,
) -> tuple[MeasurementOut, str]:
    """An admin approves the current revision, or returns it with a comment for the agency to correct."""
    require_admin(principal)
    ctx = await indicator_context(session, indicator_id)
    institution = await resolve_institution(session, ctx, institution_code)
    institution_id = institution.id if institution else None
    if not approve and not (comment and comment.strip()):
        raise Invalid("comment", "say why the value is returned, so that the agency can correct it")
    # An exception of the institution that posted the value lets it be reviewed (a later revision in a closed
    # year can only come from an institution with an exception too).
    unlocked = await repository.current_revision(session, indicator_id, year, institution_id)
    poster = unlocked.posted_by.split(":", 1)[-1] if unlocked else None
    await periods.ensure_open(session, ctx.strategy.id, year, {institution.code if institution else None, poster})

    async def write() -> Measurement:
        current = await locked_current(session, indicator_id, year, institution_id)
        if current is None:
            raise NotFound("measurement", f"{ctx.indicator.code} {year}")
        if current.status != Status.submitted:
            raise Problem(
                409, f"Revision {current.revision} is already {current.status}; only a submitted value is reviewed."
            )
        before = revision_snapshot(current)
        current.status = Status.approved if approve else Status.returned
        current.reviewed_by = principal.describe()
        current.reviewed_by_subject, current.reviewed_by_name = principal.subject, principal.name
        current.reviewed_at = dt.datetime.now(dt.UTC)
        current.review_comment = comment
        await session.flush()
        action = "approve" if approve else "return"
        await audit.record(
            session, principal, action, "measurement", current.id, before, revision_snapshot(current),
            parent=("indicator", current.indicator_id),
        )  # fmt: skip
        return current

    reviewed = await retrying_conflicts(session, write)
    institutions = {institution.id: institution} if institution else {}
    return measurement_out(reviewed, institutions), revision_etag(reviewed.id)


async def assess(session: AsyncSession, principal: Principal, indicator_id: uuid.UUID, payload: AssessmentIn) -> None:
    """An admin's status for a qualitative target."""
    require_admin(principal)
    ctx = await indicator_context(session, indicator_id)
    institution = await resolve_institution(session, ctx, payload.institution)
    institution_id = institution.id if institution else None
    target = next(
        (
            v
            for v in ctx.values
            if v.year == payload.year and v.institution_id == institution_id and v.role == ValueRole.target
        ),
        None,
    )
    if target is None or target.kind != ValueKind.qualitative:
        raise Invalid("year", f"indicator {ctx.indicator.code} has no qualitative target for {payload.year}")
    await periods.ensure_open(session, ctx.strategy.id, payload.year, {institution.code if institution else None})
    values = {
        "indicator_id": indicator_id, "year": payload.year, "institution_id": institution_id,
        "status": payload.status.value, "comment": payload.comment, "set_by": principal.describe(),
    }  # fmt: skip

    async def write() -> None:
        # The upsert alone would not fail; the lock makes `before` the assessment this one replaces.
        await repository.lock_slots(session, [(indicator_id, payload.year, institution_id)], of="assessment")
        existing = await repository.assessment(session, indicator_id, payload.year, institution_id)
        before = {"status": existing.status, "comment": existing.comment} if existing else None
        row_id = await repository.upsert_assessment(
            session, values | {"id": uuid.uuid4(), "set_at": dt.datetime.now(dt.UTC)}
        )
        after = {"status": values["status"], "comment": values["comment"]}
        parent = ("indicator", indicator_id)
        await audit.record(session, principal, "assess", "progress_assessment", row_id, before, after, parent=parent)

    await retrying_conflicts(session, write)
