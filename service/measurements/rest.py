"""REST routes of the measurements, under /api/v1."""

import asyncio
import csv
import io
import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile as StarletteUploadFile

from service.core import audit
from service.core.auth import AdminDep, PrincipalDep
from service.core.caching import CONDITIONAL_READ, json_with_etag
from service.core.db import SessionDep
from service.core.errors import WRITE_RESPONSES, Problem, problem_response, quoted
from service.core.idempotency import MAX_KEY_LENGTH
from service.core.models import Rfc3339, YearPath
from service.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from service.core.preconditions import MAX_IF_MATCH
from service.measurements import imports, reads, reviews, revisions
from service.measurements.csv_reader import read_csv
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
from service.measurements.xlsx import SHOWN_COLUMNS, XLSX_MEDIA_TYPE, is_xlsx, read_xlsx
from service.strategy.service import indicator_query

router = APIRouter(prefix="/api/v1", tags=["measurements"], responses=WRITE_RESPONSES)

InstitutionParam = Annotated[
    str | None, Query(max_length=64, description="Institution code, for indicators with per-institution values.")
]
AsOfParam = Annotated[
    Rfc3339 | None,
    Query(
        description="RFC 3339: answer from the revisions and reviews as they stood at that moment (a revision "
        "reviewed later was still `submitted` then)."
    ),
]


REVISION_ETAG = {
    "ETag": {"description": "The revision's ETag: send it as If-Match to correct it.", "schema": {"type": "string"}}
}
RECORD_RESPONSES = {
    201: {"headers": REVISION_ETAG | {"Location": {"description": "The year's history.", "schema": {"type": "string"}}}}
}
REVISION_RESPONSES = {200: {"headers": REVISION_ETAG}}


@router.post(
    "/indicators/{indicator_id:uuid}/measurements",
    status_code=201,
    response_model=MeasurementOut,
    responses=RECORD_RESPONSES,
)
async def record_measurement(
    session: SessionDep,
    principal: PrincipalDep,
    indicator_id: uuid.UUID,
    payload: MeasurementIn,
    if_match: Annotated[
        str | None,
        Header(
            max_length=MAX_IF_MATCH,
            description="ETag of the current revision; required to correct one (428 without it, 412 when it is "
            "no longer the current one).",
        ),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=MAX_KEY_LENGTH, description="A retry with the same key returns the first response."),
    ] = None,
) -> Response:
    """Post a year's actual (a new revision: a second post for the same year is a correction)."""
    written = await revisions.record_measurement(
        session, principal, indicator_id, payload, if_match=if_match, idempotency_key=idempotency_key
    )
    headers = {
        "ETag": written.etag,
        "Location": f"/api/v1/indicators/{indicator_id}/measurements/{written.body['year']}/history",
    }
    if written.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(written.body, status_code=written.status_code, headers=headers)


@router.get("/indicators/{indicator_id:uuid}/measurements", response_model=Page[YearActual], responses=CONDITIONAL_READ)
async def list_measurements(
    request: Request, session: SessionDep, indicator_id: uuid.UUID, as_of: AsOfParam = None
) -> Response:
    """The current value of every year (and institution), with its official (approved) actual."""
    return json_with_etag(request, Page[YearActual](items=await reads.actuals(session, indicator_id, as_of)))


@router.get(
    "/indicators/{indicator_id:uuid}/measurements/{year:int}/history",
    response_model=Page[MeasurementOut],
    responses=REVISION_RESPONSES,
)
async def measurement_history(
    session: SessionDep,
    indicator_id: uuid.UUID,
    year: YearPath,
    institution: InstitutionParam = None,
    as_of: AsOfParam = None,
) -> Response:
    """Every revision of the year: who posted what and when, the value it corrected, and its review.
    The ETag is the current revision's (at `as_of`, the one current then): send it as If-Match to correct."""
    history = await reads.history(session, indicator_id, year, institution, as_of)
    body = Page[MeasurementOut](items=history).model_dump_json()
    return Response(body, media_type="application/json", headers={"ETag": revisions.revision_etag(history[-1].id)})


async def _review(
    session, principal, indicator_id, year, institution, review: ReviewIn | None, approve: bool
) -> Response:
    out, etag = await reviews.review(
        session, principal, indicator_id, year, institution, approve=approve, comment=review.comment if review else None
    )
    return JSONResponse(out.model_dump(mode="json"), headers={"ETag": etag})


@router.post(
    "/indicators/{indicator_id:uuid}/measurements/{year:int}/approve",
    response_model=MeasurementOut,
    responses=REVISION_RESPONSES,
)
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


@router.post(
    "/indicators/{indicator_id:uuid}/measurements/{year:int}/return",
    response_model=MeasurementOut,
    responses=REVISION_RESPONSES,
)
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
    await reviews.assess(session, principal, indicator_id, payload)
    return Response(status_code=204)


@router.get("/indicators/{indicator_id:uuid}/progress", response_model=Page[ProgressOut], responses=CONDITIONAL_READ)
async def indicator_progress(
    request: Request, session: SessionDep, indicator_id: uuid.UUID, as_of: AsOfParam = None
) -> Response:
    """Target, official actual and status for every target year."""
    items = await reads.indicator_progress_of(session, indicator_id, as_of)
    return json_with_etag(request, Page[ProgressOut](items=items))


@router.get("/progress", response_model=ProgressSummary, responses=CONDITIONAL_READ)
async def progress_summary(
    request: Request,
    session: SessionDep,
    year: Annotated[int, Query(ge=1900, le=2100)],
    strategy: Annotated[str | None, Query(max_length=200)] = None,
    area: Annotated[str | None, Query(max_length=10)] = None,
    institution: Annotated[str | None, Query(max_length=64)] = None,
    as_of: AsOfParam = None,
) -> Response:
    """Per goal and area: how many indicators are achieved, on track, off track or without data in `year`."""
    query = await indicator_query(session, strategy=strategy, area=area, institution=institution)
    return json_with_etag(request, await reads.progress_summary(session, query, year, as_of))


IMPORT_COLUMNS_TEXT = (
    ", ".join(imports.IMPORT_COLUMNS) + " and optionally " + ", ".join(imports.OPTIONAL_IMPORT_COLUMNS)
)
IMPORT_FORMATS = (
    "Comma- or semicolon-separated (as Excel writes it in a Latvian locale), UTF-8 (with or without BOM) or "
    f"Windows-1257, decimal comma or point; the header names the columns {IMPORT_COLUMNS_TEXT}, in any order."
)
XLSX_FORMAT = (
    "Or the Excel workbook `/reporting/{year}/template.xlsx` gives, filled in (sheet `actuals`, the same columns; "
    "its name, unit, baseline, target and state columns are skipped)."
)
IMPORT_HEADER = ",".join(imports.IMPORT_COLUMNS + imports.OPTIONAL_IMPORT_COLUMNS)
CSV_MEDIA_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel", "application/octet-stream")
UPLOAD_MEDIA_TYPES = (*CSV_MEDIA_TYPES, XLSX_MEDIA_TYPE)


async def _uploaded_csv(request: Request) -> bytes:
    """The file, sent either as the raw body or as the `file` field of a form (a browser, `curl -F`)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, StarletteUploadFile):
            raise Problem(422, "The form has no file field named `file`; send `-F file=@actuals.csv`.")
        return await upload.read()
    if media_type and media_type not in UPLOAD_MEDIA_TYPES:
        raise Problem(
            415,
            f"{quoted(media_type)} is neither a CSV nor an Excel workbook; send the file as a text/csv or "
            f"{XLSX_MEDIA_TYPE} body or as the `file` field of multipart/form-data.",
        )
    return await request.body()


def _read_as(table) -> str:
    if table.separator is None:
        return "The file was read as an Excel workbook; rows are numbered as in the sheet."
    return f"The file was read as {table.encoding}, separated by {table.separator!r}."


IMPORT_ERRORS_SHOWN = 100  # a file of thousands of bad rows is answered with a count, not megabytes


@router.post(
    "/measurements/import",
    response_model=ImportResult,
    responses={
        201: {"model": ImportResult, "description": "At least one revision was written."},
        415: {"description": "The body is neither CSV nor a form with a CSV file."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": IMPORT_FORMATS,
            "content": {
                "text/csv": {"schema": {"type": "string", "format": "binary", "description": IMPORT_FORMATS}},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary", "description": XLSX_FORMAT}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary", "description": IMPORT_FORMATS}},
                        "required": ["file"],
                    }
                },
            },
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
    """A CSV of actuals (indicator_code,year,institution,value,comment[,expected_revision]), or the reporting
    template's .xlsx, under the rules of a single post: a row equal to the year's current revision is `unchanged`
    and writes nothing; a row that changes a year which has a value names the revision it corrects in
    `expected_revision` (the template pre-fills it);
    a row with an empty value posts nothing. All rows are checked first; if any fails nothing is written and every
    failing row is listed, else all are written at once (201; 200 when nothing needed writing). The answer says
    which encoding and separator the file was read with."""
    body = await _uploaded_csv(request)
    # Decoding and splitting up to MAX_ROWS rows is CPU work: in a thread, so other requests go on meanwhile.
    reader = read_xlsx if is_xlsx(body) else read_csv
    table = await asyncio.to_thread(
        reader, body, imports.IMPORT_COLUMNS, imports.OPTIONAL_IMPORT_COLUMNS, SHOWN_COLUMNS
    )
    result, errors = await imports.import_rows(session, principal, table, strategy)
    if errors:
        shown = f" The first {IMPORT_ERRORS_SHOWN} are listed." if len(errors) > IMPORT_ERRORS_SHOWN else ""
        return problem_response(
            422,
            f"{len(errors)} row(s) failed; nothing was written.{shown} " + _read_as(table),
            errors=[e.model_dump() for e in errors[:IMPORT_ERRORS_SHOWN]],
            errors_total=len(errors),
            encoding=table.encoding,
            separator=table.separator,
        )
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
    rows = await imports.import_template(session, principal, strategy)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=imports.IMPORT_COLUMNS + imports.OPTIONAL_IMPORT_COLUMNS)
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
            id=r.id, at=r.at, role=r.role, institution_code=r.institution_code, subject=r.subject,
            subject_name=r.subject_name, issuer=r.issuer, action=r.action,
            entity=r.entity, entity_id=r.entity_id, before=r.before, after=r.after,
        )
        for r in rows[:limit]
    ]  # fmt: skip
    return JSONResponse(Page[AuditOut](items=items, next_cursor=next_cursor).model_dump(mode="json"))
