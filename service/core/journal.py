"""The journal: the one place a change is recorded, inside the transaction that makes it.

One row per change is both the audit entry (who, what, before, after) and the changes feed's entry, so a
write that is audited is in the feed and no kind of write can reach one and miss the other. Each row keeps
the id of its writing transaction (`xact`): the feed orders by (xact, id) and serves only transactions older
than the reader's snapshot xmin, all of which have ended, so one that commits late is still ahead of every
cursor handed out before it committed. A trigger refuses UPDATE and DELETE: an entry, once written, stays.
Each entry also sends a NOTIFY on `journal_changes` in its transaction, delivered only if it commits: it wakes
the subscriptions (core/live.py), which then read the feed.

Each change someone can subscribe to also gets its outbox event here (core/outbox.py), in the same transaction.

`audit.record` and `writes.save` / `writes.remove` are this module under the names callers know.
"""

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Text, exists, func, inspect, select, text, tuple_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Field, SQLModel

from service.core import outbox
from service.core.auth import Principal
from service.core.errors import Problem, sqlstate

# xid8 as a bigint: the epoch-extended transaction id never wraps around and fits (it stays below 2**63).
CURRENT_XACT = "(pg_current_xact_id()::text::bigint)"
SNAPSHOT_XMIN = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"

Parent = tuple[str, Any]
"""(entity, id) of the entity a change also concerns, e.g. a membership's organisation."""


CHANGES_CHANNEL = "journal_changes"
_NOTIFY = text(f"SELECT pg_notify('{CHANGES_CHANNEL}', :payload)")


class Signal(NamedTuple):
    """What a notification says: which kind of entity changed, and its parent (no data: readers read the feed)."""

    entity: str
    parent_entity: str | None
    parent_id: str | None

    def payload(self) -> str:
        return " ".join((self.entity, self.parent_entity or "", self.parent_id or ""))

    @classmethod
    def parse(cls, payload: str) -> "Signal":
        entity, parent_entity, parent_id = (payload.split(" ") + ["", ""])[:3]
        return cls(entity, parent_entity or None, parent_id or None)


class JournalEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("audit_entry_entity", "entity", "entity_id"), Index("audit_entry_feed", "xact", "id"))

    # By default, not always: an edit that names its own entry (a fact's provenance) reserves the id first.
    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    xact: int = Field(default=None, sa_column=Column(BigInteger, server_default=text(CURRENT_XACT), nullable=False))
    at: dt.datetime = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    token_id: uuid.UUID | None = Field(default=None)
    role: str = Field(sa_column=Column(Text, nullable=False))
    institution_code: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The person, when a person signed in at an identity provider made the change (else the token above).
    issuer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    subject: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    subject_name: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    action: str = Field(sa_column=Column(Text, nullable=False))
    entity: str = Field(sa_column=Column(Text, nullable=False))
    entity_id: str = Field(sa_column=Column(Text, nullable=False))
    parent_entity: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    parent_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    before: dict | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    after: dict | None = Field(default=None, sa_column=Column(JSONB, nullable=True))


async def record(
    session: AsyncSession,
    principal: Principal,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict | None,
    after: dict | None,
    *,
    parent: Parent | None = None,
    entry_id: int | None = None,
) -> None:
    """Journal a change (`action` "delete" is a deletion in the feed, any other an upsert), send its NOTIFY and
    add its outbox event, in the change's transaction; the request commits. `entry_id`: one `reserve_entry_id`
    gave."""
    entity_id, parent = str(entity_id), (parent[0], str(parent[1])) if parent else None
    session.add(
        JournalEntry(
            id=entry_id,
            token_id=principal.token_id,
            role=principal.role.value,
            institution_code=principal.institution_code,
            issuer=principal.issuer,
            subject=principal.subject,
            subject_name=principal.name,
            action=action,
            entity=entity,
            entity_id=entity_id,
            parent_entity=parent[0] if parent else None,
            parent_id=parent[1] if parent else None,
            before=before,
            after=after,
        )
    )
    signal = Signal(entity, parent[0] if parent else None, parent[1] if parent else None)
    await session.execute(_NOTIFY, {"payload": signal.payload()})
    if (event := outbox.event(entity, action, entity_id, parent, before, after)) is not None:
        session.add(event)


def snapshot(row: Any) -> dict:
    # Enum columns come back from the database as plain strings; they serialise the same.
    return row.model_dump(mode="json", warnings=False)


def parent_of(row: Any) -> Parent | None:
    """The parent a table declares as `journal_parent = (entity, column)`, e.g. a membership's organisation."""
    declared = getattr(type(row), "journal_parent", None)
    return (declared[0], getattr(row, declared[1])) if declared else None


_UNIQUE, _FOREIGN_KEY = "23505", "23503"


def _integrity_problem(error: IntegrityError, what: str, conflict: str | None) -> Problem:
    state = sqlstate(error)
    if state == _UNIQUE:
        return Problem(409, conflict or f"A {what} with the same key already exists.")
    if state == _FOREIGN_KEY:
        return Problem(409, f"The {what} is referenced by other records, or refers to one that does not exist.")
    return Problem(422, f"The {what} breaks a rule of the data: {error.orig}")


def _take_unflushed(session: AsyncSession) -> list[tuple[Any, dict[str, Any]]]:
    """Take the changes the caller made to loaded rows off them, to be made again inside a savepoint.

    Opening a savepoint flushes everything pending first, outside it; a change that breaks a rule
    would then abort the caller's whole transaction instead of only the savepoint.
    """
    taken = []
    for row in list(session.sync_session.dirty):
        changes = {}
        for attribute in inspect(row).attrs:
            history = attribute.history
            if history.added or history.deleted:
                changes[attribute.key] = attribute.value
                set_committed_value(row, attribute.key, history.deleted[0] if history.deleted else None)
        taken.append((row, changes))
    return taken


@asynccontextmanager
async def savepoint(session: AsyncSession, what: str, conflict: str | None = None) -> AsyncIterator[None]:
    """The block's writes (and the caller's unflushed edits) in a savepoint: a broken rule undoes only them and
    is raised as 409/422 (`conflict` words a duplicate key); the caller's transaction stays usable."""
    pending = _take_unflushed(session)
    try:
        async with session.begin_nested():
            for row, changes in pending:
                for key, value in changes.items():
                    setattr(row, key, value)
            yield
    except IntegrityError as error:
        raise _integrity_problem(error, what, conflict) from None


async def reserve_entry_id(session: AsyncSession) -> int:
    """The id the next entry of this change will have, for a row that names the entry recording it."""
    return (await session.execute(text("SELECT nextval(pg_get_serial_sequence('audit_entry', 'id'))"))).scalar_one()


async def save(
    session: AsyncSession,
    principal: Principal,
    entity: str,
    row: Any,
    before: dict | None,
    extra: dict | None = None,
    *,
    entry_id: int | None = None,
) -> None:
    """Insert or update `row` and journal it (with `extra`, state the row itself does not hold; as `entry_id`, one
    `reserve_entry_id` gave); the request commits."""
    async with savepoint(session, entity):
        if hasattr(row, "updated_at") and before is not None:
            row.updated_at = dt.datetime.now(dt.UTC)
        session.add(row)
    await session.refresh(row)
    after = snapshot(row) | (extra or {})
    action = "update" if before else "create"
    await record(session, principal, action, entity, row.id, before, after, parent=parent_of(row), entry_id=entry_id)


async def remove(session: AsyncSession, principal: Principal, entity: str, row: Any) -> None:
    """Delete `row` and journal the deletion (the feed's tombstone); the request commits."""
    before = snapshot(row)
    async with savepoint(session, entity):
        await session.delete(row)
    await record(session, principal, "delete", entity, row.id, before, None, parent=parent_of(row))


async def list_entries(
    session: AsyncSession, *, entity: str | None, entity_id: str | None, after_id: int | None, limit: int
) -> list[JournalEntry]:
    """The audit log, in the order entries were written."""
    stmt = select(JournalEntry)
    if entity is not None:
        stmt = stmt.where(JournalEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(JournalEntry.entity_id == entity_id)
    if after_id is not None:
        stmt = stmt.where(JournalEntry.id > after_id)
    return list((await session.scalars(stmt.order_by(JournalEntry.id).limit(limit + 1))).all())


# Admin plumbing, audited here like every change but not data: the feed's readers have nothing to fetch for it.
NOT_IN_FEED = ("webhook_subscription",)

FeedPosition = tuple[int, int]
"""(xact, id) of the last entry a reader has seen."""


async def change_mark(session: AsyncSession, entities: Sequence[str]) -> tuple[int, int]:
    """(latest id, count) of these entities' entries: changes with any committed change to them, deletions too (the
    count, since a transaction that reserved a lower id may commit after a higher one)."""
    stmt = select(func.coalesce(func.max(JournalEntry.id), 0), func.count()).where(JournalEntry.entity.in_(entities))
    latest, count = (await session.execute(stmt)).one()
    return latest, count


async def feed_horizon(session: AsyncSession) -> int:
    """Every transaction below this id has ended: its entries are all visible from now on, or never."""
    return (await session.execute(text(f"SELECT {SNAPSHOT_XMIN}"))).scalar_one()


async def latest_changes(
    session: AsyncSession,
    *,
    horizon: int,
    after: FeedPosition | None,
    since: dt.datetime | None,
    limit: int,
    entity: str | None = None,
    parent: Parent | None = None,
) -> list[JournalEntry]:
    """Each entity's latest entry after `after` (or written at or after `since`), below `horizon`, in commit order;
    only of this `entity` kind and `parent`, if given (one indicator's measurements).

    An entity changed twice is reported once, at its latest change, so a reader fetches it once.
    """
    later = aliased(JournalEntry)
    superseded = exists().where(
        later.entity == JournalEntry.entity,
        later.entity_id == JournalEntry.entity_id,
        later.xact < horizon,
        tuple_(later.xact, later.id) > tuple_(JournalEntry.xact, JournalEntry.id),
    )
    stmt = select(JournalEntry).where(JournalEntry.xact < horizon, JournalEntry.entity.not_in(NOT_IN_FEED), ~superseded)
    if entity is not None:
        stmt = stmt.where(JournalEntry.entity == entity)
    if parent is not None:
        stmt = stmt.where(JournalEntry.parent_entity == parent[0], JournalEntry.parent_id == str(parent[1]))
    if after is not None:
        stmt = stmt.where(tuple_(JournalEntry.xact, JournalEntry.id) > after)
    elif since is not None:
        stmt = stmt.where(JournalEntry.at >= since)
    stmt = stmt.order_by(JournalEntry.xact, JournalEntry.id).limit(limit + 1)
    return list((await session.scalars(stmt)).all())
