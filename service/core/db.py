"""The async engine and one session per request, committed once at the request's end."""

import asyncio
import json
from collections import defaultdict, namedtuple
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from functools import cache
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from fastapi.requests import HTTPConnection
from sqlalchemy import BindParameter, Select, Uuid, any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from service.core.errors import TRANSIENT_CONFLICTS, sqlstate
from service.settings import Settings

R = TypeVar("R")
WRITE_ATTEMPTS = 3


def _json_loads(text: str) -> Any:
    """jsonb columns (texts, events, notes) are most of what a read decodes: orjson reads them several times
    faster, into the same values (every integer the API takes fits its 64 bits); a number beyond a double's
    range, which orjson refuses, is read as the standard library does."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def create_engine(settings: Settings) -> AsyncEngine:
    connect_args: dict[str, Any] = {"timeout": settings.db_connect_timeout_s}
    if settings.db_statement_timeout_ms:
        connect_args["server_settings"] = {"statement_timeout": str(settings.db_statement_timeout_ms)}
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        pool_timeout=settings.db_connect_timeout_s,
        pool_pre_ping=True,
        connect_args=connect_args,
        json_deserializer=_json_loads,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session. Services only flush; the request commits once, here, after the handler
    returned and before the response is sent (so no answer speaks of a write that did not commit).
    An exception from the handler rolls everything back."""
    async with request.app.state.sessionmaker() as session:
        yield session
        await session.commit()


async def get_uncommitted_session(connection: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """The request's session for a caller that commits it itself: the GraphQL context, once it knows the result
    (a WebSocket's context has one too)."""
    async with connection.app.state.sessionmaker() as session:
        yield session


# scope="function": the exit code runs before the response is sent (FastAPI's default, "request", runs it after).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
UncommittedSessionDep = Annotated[AsyncSession, Depends(get_uncommitted_session, scope="function")]


async def upsert(session: AsyncSession, model: type, rows: list[dict[str, Any]], key: list[str]) -> int:
    """Insert rows, or update those whose key exists and whose values differ; returns rows written.

    Unchanged rows are left alone, `updated_at` included, so loading the same data twice
    changes nothing and integrators' `updated_since` sync sees only real changes.
    """
    if not rows:
        return 0
    table = model.__table__
    stmt = pg_insert(table).values(rows)
    columns = [name for name in rows[0] if name not in key]
    assignments = {name: stmt.excluded[name] for name in columns}
    if "updated_at" in table.c:
        assignments["updated_at"] = func.now()
    changed = or_(*(table.c[name].is_distinct_from(stmt.excluded[name]) for name in columns))
    stmt = stmt.on_conflict_do_update(index_elements=key, set_=assignments, where=changed)
    result = await session.execute(stmt)
    return result.rowcount


async def rows_by_parent(
    session: AsyncSession, model: type, parent: str, parent_ids: Sequence[Any], order_by: Sequence[Any] = ()
) -> dict[Any, list]:
    """Children of many parents in one statement, grouped by parent: the batch behind a DataLoader."""
    grouped: dict[Any, list] = defaultdict(list)
    if parent_ids:
        column = getattr(model, parent)
        stmt = select(model).where(column.in_(set(parent_ids))).order_by(column, *order_by)
        for row in await session.scalars(stmt):
            grouped[getattr(row, parent)].append(row)
    return grouped


def ids_parameter() -> BindParameter:
    """Many ids as the one parameter `ids` (`= ANY(:ids)`): the statement's text, and so PostgreSQL's prepared
    statement, is one for any count. Typed here, not from the column: a foreign key declared without a type gets
    its type only once the table it refers to is defined, and a statement built before that could not compile."""
    return bindparam("ids", type_=ARRAY(Uuid))


def children_of(model: type, parent: str, *order_by: Any) -> Select:
    """The statement reading the children of many parents (the `ids` parameter) as Core rows, by parent then
    `order_by`."""
    column = getattr(model, parent)
    return select(model.__table__).where(column == any_(ids_parameter())).order_by(column, *order_by)


async def row_groups(
    session: AsyncSession, statement: Select, parent: str, parent_ids: Iterable[Any]
) -> dict[Any, list]:
    """A `children_of` statement's rows, grouped by parent: read-only rows, no ORM objects to build and track,
    which on a tree of thousands of rows is most of a read's time. Each row is a named tuple of its columns
    (`plain_row`): the APIs read every column of it at least once, the most of them several times."""
    grouped: dict[Any, list] = defaultdict(list)
    wanted = list(set(parent_ids))
    if wanted:
        result = await session.execute(statement, {"ids": wanted})
        keys = tuple(result.keys())
        plain, at = plain_row(keys), keys.index(parent)
        for row in map(plain._make, result):
            grouped[row[at]].append(row)
    return grouped


@cache  # one class per fixed statement's columns
def plain_row(keys: tuple[str, ...]) -> Any:
    """A named tuple class of these columns: reading a field of one is a slot of a tuple, about 20x faster than
    the same attribute of a SQLAlchemy `Row`, and building one from a row costs less than two such reads."""
    return namedtuple("PlainRow", keys)


async def rows_by_id(session: AsyncSession, model: type, ids: Sequence[Any]) -> dict[Any, Any]:
    """Rows of many ids in one statement."""
    if not ids:
        return {}
    rows = await session.scalars(select(model).where(model.id.in_(set(ids))))
    return {row.id: row for row in rows}


async def retrying_conflicts(session: AsyncSession, work: Callable[[], Awaitable[R]]) -> R:
    """Run `work` in a savepoint; a deadlock or serialization failure rolls back to it and runs `work` again.

    After WRITE_ATTEMPTS the error propagates, and the error handlers answer 503 with Retry-After.
    `work` must read what it depends on itself, since a retry starts from the savepoint.
    """
    attempt = 1
    while True:
        try:
            async with session.begin_nested():
                return await work()
        except DBAPIError as error:
            if attempt == WRITE_ATTEMPTS or sqlstate(error) not in TRANSIENT_CONFLICTS:
                raise
        await asyncio.sleep(0.05 * attempt)
        attempt += 1


async def lock_row(session: AsyncSession, model: type, row_id: Any) -> Any:
    """The row as committed now, locked until the transaction ends; None when it is gone.

    An edit takes it before checking If-Match, so a concurrent edit or delete of the same row waits
    and is then judged against what the first one left (a 412 or a 404, not a lost update or a 500).
    """
    return await session.get(model, row_id, with_for_update=True, populate_existing=True)
