"""GET /api/v1/changes: the changes feed over REST."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from service.core.caching import CONDITIONAL_READ, json_with_etag
from service.core.db import SessionDep
from service.core.errors import PROBLEM_RESPONSES
from service.core.models import Rfc3339
from service.core.pagination import DEFAULT_LIMIT, LimitParam
from service.feed import service
from service.feed.schemas import ChangesPage

router = APIRouter(prefix="/api/v1", tags=["sync"], responses=PROBLEM_RESPONSES)


@router.get("/changes", response_model=ChangesPage, responses=CONDITIONAL_READ)
async def list_changes(
    request: Request,
    session: SessionDep,
    since: Annotated[
        Rfc3339 | None, Query(description="RFC 3339: where a first sync starts (omit: the beginning).")
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` or `resume_cursor` of an earlier answer.")
    ] = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Response:
    """Every entity created, changed (`upsert`) or deleted (`delete`), each once at its latest change, in the
    order the changes committed. Start with `since` (or nothing), then follow `next_cursor`; when it is null you
    are caught up: keep `resume_cursor` and poll with it. A cursor wins over `since`."""
    page = await service.changes(session, since=since, cursor=cursor, limit=limit)
    return json_with_etag(request, page)
