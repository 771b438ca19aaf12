"""GET /api/v1/exports/…: the whole registry as open data, streamed, with an ETag from its latest change.

A package of routes of its own, beside the registry's: an export spans the registry's entities (institutions,
organisations, memberships) in formats for other tools, not one resource's representation. The registry's first
CSV export keeps its address, /api/v1/organizations/export.csv, served by the same handler as
/api/v1/exports/registry.csv."""

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from service.core.caching import ETAG_HEADER
from service.core.errors import PROBLEM_RESPONSES
from service.core.models import Rfc3339
from service.core.preconditions import none_match
from service.exports import service

router = APIRouter(prefix="/api/v1", tags=["exports"], responses=PROBLEM_RESPONSES)

UpdatedSince = Annotated[
    Rfc3339 | None,
    Query(
        description="RFC 3339: only what changed at or after it (an organisation with all its memberships when it "
        "or one of them changed). Deletions are not in an export: follow /api/v1/changes for them."
    ),
]


def _responses(media_type: str, description: str) -> dict:
    return {
        200: {"content": {media_type: {}}, "description": description, "headers": ETAG_HEADER},
        304: {"description": "Not Modified: the registry has not changed since the ETag sent in If-None-Match.",
              "headers": ETAG_HEADER},
    }  # fmt: skip


async def _export(
    request: Request,
    format: service.Format,
    updated_since,
    body: Callable[..., AsyncIterator],
    media_type: str,
    filename: str,
) -> Response:
    sessionmaker = request.app.state.sessionmaker
    async with sessionmaker() as session:
        etag = await service.etag(session, format, updated_since)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)

    async def chunks() -> AsyncIterator:
        # A session of its own, opened by the stream (the response outlives the request's dependencies, and a
        # stream never started holds nothing); one snapshot for every statement: the registry at one moment.
        async with sessionmaker() as session:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            async for chunk in body(session, updated_since):
                yield chunk

    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(chunks(), media_type=media_type, headers=headers)


CSV_DESCRIPTION = (
    "One row per membership; organisations without one get one row; the provenance of each fact in the "
    "`…_provenance` columns (`edited:<audit entry id>`, `inferred: <source sentence>`). A text cell that starts "
    "with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`, so a spreadsheet does not run it."
)


@router.get(
    "/exports/registry.csv", response_class=StreamingResponse, responses=_responses("text/csv", CSV_DESCRIPTION)
)
async def registry_csv(request: Request, updated_since: UpdatedSince = None) -> Response:
    """The whole registry as CSV (UTF-8, header row), streamed so memory stays flat as it grows."""
    return await _export(request, "csv", updated_since, service.csv_lines, "text/csv; charset=utf-8", "registry.csv")


router.add_api_route(
    "/organizations/export.csv", registry_csv, methods=["GET"], response_class=StreamingResponse,
    responses=_responses("text/csv", CSV_DESCRIPTION), operation_id="export_registry", summary="Export Registry",
    tags=["registry"],
)  # fmt: skip


@router.get(
    "/exports/registry.jsonl",
    response_class=StreamingResponse,
    responses=_responses("application/jsonl", "One JSON object a line: institutions, then organisations."),
)
async def registry_json_lines(request: Request, updated_since: UpdatedSince = None) -> Response:
    """The whole registry as JSON Lines: every institution (`"type": "institution"`), then every organisation
    with its memberships (`"type": "organization"`), each as the REST API gives it, provenance included."""
    return await _export(request, "jsonl", updated_since, service.json_lines, "application/jsonl", "registry.jsonl")


@router.get(
    "/exports/popolo.json",
    response_class=StreamingResponse,
    responses=_responses("application/json", "Popolo: `organizations` and `memberships`."),
)
async def registry_popolo(request: Request, updated_since: UpdatedSince = None) -> Response:
    """The registry in the Popolo data specification (popoloproject.com) for tools that read it: institutions and
    international organisations as `organizations`, `memberships` with `start_date` / `end_date` in the precision
    the sources give (`1929`, `2010-05`, `2018-11-06`) and the relation as `role`."""
    return await _export(request, "popolo", updated_since, service.popolo, "application/json", "popolo.json")
