"""Admin writes of any entity: saved or deleted with an audit entry, deletions with a tombstone."""

import datetime as dt
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.core import audit
from service.core.auth import Principal
from service.core.errors import Problem, sqlstate
from service.core.tombstones import Tombstone

_UNIQUE, _FOREIGN_KEY, _CHECK = "23505", "23503", "23514"


def snapshot(row: Any) -> dict:
    # Enum columns come back from the database as plain strings; they serialise the same.
    return row.model_dump(mode="json", warnings=False)


async def _flush(session: AsyncSession, what: str) -> None:
    try:
        await session.flush()
    except IntegrityError as error:
        await session.rollback()
        state = sqlstate(error)
        if state == _UNIQUE:
            raise Problem(409, f"A {what} with the same key already exists.") from None
        if state == _FOREIGN_KEY:
            raise Problem(
                409, f"The {what} is referenced by other records, or refers to one that does not exist."
            ) from None
        raise Problem(422, f"The {what} breaks a rule of the data: {error.orig}") from None


async def save(
    session: AsyncSession, principal: Principal, entity: str, row: Any, before: dict | None, extra: dict | None = None
) -> None:
    """Insert or update `row` and audit it (with `extra`, state the row itself does not hold); the caller commits."""
    if hasattr(row, "updated_at") and before is not None:
        row.updated_at = dt.datetime.now(dt.UTC)
    session.add(row)
    await _flush(session, entity)
    await session.refresh(row)
    after = snapshot(row) | (extra or {})
    await audit.record(session, principal, "update" if before else "create", entity, row.id, before, after)


async def remove(session: AsyncSession, principal: Principal, entity: str, row: Any) -> None:
    """Delete `row`, leave a tombstone and audit it; the caller commits."""
    before = snapshot(row)
    await session.delete(row)
    await _flush(session, entity)
    session.add(Tombstone(entity=entity, entity_id=row.id, deleted_by=principal.describe()))
    await audit.record(session, principal, "delete", entity, row.id, before, None)
