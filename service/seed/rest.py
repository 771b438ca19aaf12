"""Admin: the rows the seed kept as an admin left them instead of applying the data file."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from service.core.auth import AdminDep
from service.core.db import SessionDep
from service.core.errors import WRITE_RESPONSES
from service.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from service.seed.baseline import open_conflicts

router = APIRouter(prefix="/api/v1/seed", tags=["seed data"], responses=WRITE_RESPONSES)


class SeedConflictOut(BaseModel):
    entity: str
    entity_id: str
    reason: str  # edited | deleted | exists | removed | referenced | refused
    detail: str
    data_file: str
    data_version: str
    live: dict | None  # the row as it stands (null: deleted)
    proposed: dict | None  # what the data file gives (null: the file no longer lists it)
    detected_at: dt.datetime


@router.get("/conflicts", response_model=Page[SeedConflictOut])
async def list_conflicts(
    session: SessionDep,
    principal: AdminDep,
    entity: Annotated[str | None, Query(max_length=64, description="a table, e.g. `organization`")] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Response:
    """Admin: rows where a live edit and the data file disagree; the seed kept the live row. A conflict
    stays listed until the two agree again (edit the row to the file's values, or the file to the row's)."""
    after = decode_cursor(cursor, (str, str)) if cursor else None
    rows = await open_conflicts(session, entity=entity, after=after, limit=limit)
    next_cursor = encode_cursor([rows[limit - 1].entity, rows[limit - 1].entity_id]) if len(rows) > limit else None
    items = [SeedConflictOut.model_validate(row, from_attributes=True) for row in rows[:limit]]
    return JSONResponse(Page[SeedConflictOut](items=items, next_cursor=next_cursor).model_dump(mode="json"))
