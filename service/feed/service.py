"""The one read of the changes feed, for REST and GraphQL."""

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from service.core import journal
from service.core.errors import BadRequest
from service.core.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from service.feed.schemas import Change, ChangesPage


async def changes(
    session: AsyncSession,
    *,
    since: dt.datetime | None,
    cursor: str | None,
    limit: int,
    entity: str | None = None,
    parent: journal.Parent | None = None,
) -> ChangesPage:
    """Each changed entity once, at its latest change, in commit order: after `cursor`, else since `since`,
    else from the first change; only of this `entity` kind and `parent`, if given."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"The page size must be between 1 and {MAX_LIMIT}; it was {limit}.")
    after = decode_cursor(cursor, (int, int)) if cursor else None
    horizon = await journal.feed_horizon(session)
    rows = await journal.latest_changes(
        session, horizon=horizon, after=after, since=since, limit=limit, entity=entity, parent=parent
    )
    items = [Change.of(row) for row in rows[:limit]]
    if len(rows) > limit:
        next_cursor = encode_cursor([rows[limit - 1].xact, rows[limit - 1].id])
        return ChangesPage(items=items, next_cursor=next_cursor, resume_cursor=next_cursor)
    # Caught up: every transaction below the horizon has been read, and any later one will be above it.
    resume = max(after or (0, 0), (horizon, 0))
    return ChangesPage(items=items, next_cursor=None, resume_cursor=encode_cursor(list(resume)))


async def current_cursor(session: AsyncSession) -> str:
    """Where a reader that wants only what commits from now on starts: every change it will read is ahead."""
    return encode_cursor([await journal.feed_horizon(session), 0])
