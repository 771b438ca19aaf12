"""REST routes of the measurements, under /api/v1."""

import csv
import io
import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from service.core import audit
from service.core.auth import AdminDep, PrincipalDep
from service.core.caching import json_with_etag
from service.core.db import SessionDep
from service.core.errors import PROBLEM_JSON, WRITE_RESPONSES, Problem
from service.core.idempotency import MAX_KEY_LENGTH
from service.core.models import YearPath
from service.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from service.core.preconditions import MAX_IF_MATCH
from service.measurements import service
from service.measurements.schemas import (
    AssessmentIn,
    AuditOut,
    ImportResult,
    MeasurementIn,
    MeasurementOut,
    ProgressOut,
    ProgressSummary,
    ReviewIn,
    YearActual,
)
from service.strategy.service import indicator_query

router = APIRouter(prefix="/api/v1", tags=["measurements"], responses=WRITE_RESPONSES)

InstitutionParam = Annotated[
    str | None, Query(max_length=64, description="Institution code, for indicators with per-institution values.")
]


@router.post("/indicators/{indicator_id:uuid}/measurements", status_code=201, response_model=MeasurementOut)
async def record_measurement(
    session: SessionDep,
    principal: PrincipalDep,
    indicator_id: uuid.UUID,
    payload: MeasurementIn,
    if_match: Annotated[
        str | None, Header(max_length=MAX_IF_MATCH, description="ETag of the current revision; required to correct.")
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=MAX_KEY_LENGTH, description="A retry with the same key returns the first response."),
    ] = None,
) -> Response:
    """Post a year's actual (a new revision: a second post for the same year is a correction)."""
    written = await service.record_measurement(
        session, principal, indicator_id, payload, if_match=if_match, idempotency_key=idempotency_key
    )
    headers = {
        "ETag": written.etag,
        "Location": f"/api/v1/indicators/{indicator_id}/measurements/{written.body['year']}/history",
    }
    if written.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(written.body, status_code=written.status_code, headers=headers)


@router.get("/indicators/{indicator_id:uuid}/measurements", response_model=Page[YearActual])
async def list_measurements(request: Request, session: SessionDep, indicator_id: uuid.UUID) -> Response:
    """The current value of every year (and institution), with its official (approved) actual."""
    return json_with_etag(request, Page[YearActual](items=await service.actuals(session, indicator_id)))


@router.get("/indicators/{indicator_id:uuid}/measurements/{year:int}/history", response_model=Page[MeasurementOut])
async def measurement_history(
    session: SessionDep, indicator_id: uuid.UUID, year: YearPath, institution: InstitutionParam = None
) -> Response:
    """Every revision of the year: who posted what and when, the value it corrected, and its review.
    The ETag is the current revision's: send it as If-Match to correct."""
    revisions = await service.history(session, indicator_id, year, institution)
    body = Page[MeasurementOut](items=revisions).model_dump_json()
    return Response(body, media_type="application/json", headers={"ETag": service.revision_etag(revisions[-1].id)})


async def _review(
    session, principal, indicator_id, year, institution, review: ReviewIn | None, approve: bool
) -> Response:
    out, etag = await service.review(
        session, principal, indicator_id, year, institution, approve=approve, comment=review.comment if review else None
    )
    return JSONResponse(out.model_dump(mode="json"), headers={"ETag": etag})


@router.post("/indicators/{indicator_id:uuid}/measurements/{year:int}/approve", response_model=MeasurementOut)
async def approve_measurement(
    session: SessionDep,
    principal: AdminDep,
    indicator_id: uuid.UUID,
    year: YearPath,
    institution: InstitutionParam = None,
    review: Annotated[ReviewIn | None, Body()] = None,
) -> Response:
    """Admin: the current revision becomes the year's official actual."""
    return await _review(session, principal, indicator_id, year, institution, review, approve=True)


@router.post("/indicators/{indicator_id:uuid}/measurements/{year:int}/return", response_model=MeasurementOut)
async def return_measurement(
    session: SessionDep,
    principal: AdminDep,
    indicator_id: uuid.UUID,
    year: YearPath,
    review: ReviewIn,
    institution: InstitutionParam = None,
) -> Response:
    """Admin: send the current revision back with a comment; the agency then corrects it."""
    return await _review(session, principal, indicator_id, year, institution, review, approve=False)


@router.post("/indicators/{indicator_id:uuid}/assessments", status_code=204)
async def assess_progress(
    session: SessionDep, principal: AdminDep, indicator_id: uuid.UUID, payload: AssessmentIn
) -> Response:
    """Admin: the progress status of a qualitative target (`Palielinās`), which no number decides."""
    await service.assess(session, principal, indicator_id, payload)
    return Response(status_code=204)


@router.get("/indicators/{indicator_id:uuid}/progress", response_model=Page[ProgressOut])
async def indicator_progress(request: Request, session: SessionDep, indicator_id: uuid.UUID) -> Response:
    """Target, official actual and status for every target year."""
    items = await service.indicator_progress_of(session, indicator_id)
    return json_with_etag(request, Page[ProgressOut](items=items))


@router.get("/progress", response_model=ProgressSummary)
async def progress_summary(
    request: Request,
    session: SessionDep,
    year: Annotated[int, Query(ge=1900, le=2100)],
    strategy: Annotated[str | None, Query(max_length=200)] = None,
    area: Annotated[str | None, Query(max_length=10)] = None,
    institution: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Per goal and area: how many indicators are achieved, on track, off track or without data in `year`."""
    query = await indicator_query(session, strategy=strategy, area=area, institution=institution)
    return json_with_etag(request, await service.progress_summary(session, query, year))


IMPORT_HEADER = ",".join(service.IMPORT_COLUMNS + service.OPTIONAL_IMPORT_COLUMNS)


@router.post(
    "/measurements/import",
    response_model=ImportResult,
    responses={201: {"model": ImportResult, "description": "At least one revision was written."}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string", "description": IMPORT_HEADER}}},
        }
    },
)
async def import_measurements(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    strategy: Annotated[
        str | None, Query(max_length=200, description="Strategy id or key of the indicator codes.")
    ] = None,
) -> Response:
    """A CSV of actuals (indicator_code,year,institution,value,comment[,expected_revision]) under the rules of a
    single post: a row equal to the year's current revision is `unchanged` and writes nothing; a row that changes
    a year which has a value names the revision it corrects in `expected_revision` (the template pre-fills it);
    a row with an empty value posts nothing. All rows are checked first; if any fails nothing is written and every
    failing row is listed, else all are written at once (201; 200 when nothing needed writing)."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Problem(400, "The CSV must be UTF-8.") from None
    result, errors = await service.import_rows(session, principal, service.read_import_rows(text), strategy)
    if errors:
        body = {
            "type": "about:blank",
            "title": "Unprocessable Content",
            "status": 422,
            "detail": f"{len(errors)} row(s) failed; nothing was written.",
            "errors": [e.model_dump() for e in errors],
        }
        return JSONResponse(body, status_code=422, media_type=PROBLEM_JSON)
    return JSONResponse(result.model_dump(mode="json"), status_code=201 if result.written else 200)


@router.get(
    "/measurements/template.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": f"Columns: {IMPORT_HEADER}"}},
)
async def import_template(
    session: SessionDep,
    principal: PrincipalDep,
    strategy: Annotated[
        str | None, Query(max_length=200, description="Strategy id or key; upload the file with the same one.")
    ] = None,
) -> Response:
    """The file to fill in and upload to `/measurements/import`: a row for every year (and institution) the
    token may post, with the current value, comment and revision (`expected_revision`) pre-filled."""
    rows = await service.import_template(session, principal, strategy)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=service.IMPORT_COLUMNS + service.OPTIONAL_IMPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    headers = {"Content-Disposition": 'attachment; filename="measurements.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/audit", response_model=Page[AuditOut])
async def list_audit(
    session: SessionDep,
    principal: AdminDep,
    entity: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Response:
    """Admin: the audit log, oldest first."""
    after = decode_cursor(cursor, (int,))[0] if cursor else None
    rows = await audit.list_entries(session, entity=entity, entity_id=entity_id, after_id=after, limit=limit)
    next_cursor = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    items = [
        AuditOut(
            id=r.id, at=r.at, role=r.role, institution_code=r.institution_code, action=r.action,
            entity=r.entity, entity_id=r.entity_id, before=r.before, after=r.after,
        )
        for r in rows[:limit]
    ]  # fmt: skip
    return JSONResponse(Page[AuditOut](items=items, next_cursor=next_cursor).model_dump(mode="json"))
