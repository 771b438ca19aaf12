"""The changes feed: every entity changed or deleted since a moment, in order, for integrators' sync.

It reads every domain's tables, so it sits beside app.py rather than inside one domain.
"""

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import literal, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.caching import CONDITIONAL_READ, json_with_etag
from service.core.db import SessionDep
from service.core.errors import PROBLEM_RESPONSES, BadRequest
from service.core.models import Rfc3339
from service.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from service.core.tombstones import Tombstone
from service.registry import models as registry
from service.strategy import models as strategy

TRACKED = {
    "institution": registry.Institution,
    "organization": registry.Organization,
    "membership": registry.Membership,
    "engagement": registry.Engagement,
    "representation": registry.Representation,
    "strategy": strategy.Strategy,
    "policy_area": strategy.PolicyArea,
    "goal": strategy.Goal,
    "indicator": strategy.Indicator,
    "action_direction": strategy.ActionDirection,
    "task": strategy.Task,
}


class Change(BaseModel):
    entity: str
    id: uuid.UUID
    change: Literal["upsert", "delete"]
    at: dt.datetime


async def changes_since(
    session: AsyncSession, since: dt.datetime, limit: int, after: tuple[dt.datetime, str, uuid.UUID] | None
) -> list[Change]:
    parts = [
        select(
            literal(name).label("entity"),
            model.id.label("id"),
            literal("upsert").label("change"),
            model.updated_at.label("at"),
        ).where(model.updated_at >= since)
        for name, model in TRACKED.items()
    ]
    parts.append(
        select(Tombstone.entity, Tombstone.entity_id, literal("delete"), Tombstone.deleted_at).where(
            Tombstone.deleted_at >= since
        )
    )
    feed = union_all(*parts).subquery()
    stmt = select(feed)
    if after is not None:
        stmt = stmt.where(tuple_(feed.c.at, feed.c.entity, feed.c.id) > after)
    stmt = stmt.order_by(feed.c.at, feed.c.entity, feed.c.id).limit(limit + 1)
    return [Change(entity=r.entity, id=r.id, change=r.change, at=r.at) for r in await session.execute(stmt)]


router = APIRouter(prefix="/api/v1", tags=["sync"], responses=PROBLEM_RESPONSES)


@router.get("/changes", response_model=Page[Change], responses=CONDITIONAL_READ)
async def list_changes(
    request: Request,
    session: SessionDep,
    since: Annotated[Rfc3339, Query(description="RFC 3339; changes at or after it.")],
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Response:
    """Entities created, changed (`upsert`) or deleted (`delete`, from tombstones) since `since`, oldest first."""
    after = None
    if cursor:
        at, entity, last = decode_cursor(cursor, (str, str, uuid.UUID))
        try:
            after = (dt.datetime.fromisoformat(at), entity, last)
        except ValueError:
            raise BadRequest("The cursor is not one this service issued; start again without it.") from None
    items = await changes_since(session, since, limit, after)
    next_cursor = None
    if len(items) > limit:
        last_item = items[limit - 1]
        next_cursor = encode_cursor([last_item.at.isoformat(), last_item.entity, str(last_item.id)])
    return json_with_etag(request, Page[Change](items=items[:limit], next_cursor=next_cursor))
