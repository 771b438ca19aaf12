"""The changes feed in GraphQL: the same entries as GET /api/v1/changes, and the subscriptions that send them
(and one indicator's measurements) as they commit."""

import datetime as dt
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from service.core import live
from service.core.graphql import Context
from service.core.graphql_bounds import at_most_characters, max_length
from service.core.graphql_cost import PAGE_OF_FIRST
from service.core.graphql_types import (
    CursorArgument,
    FirstArgument,
    IndicatorIdArgument,
    PageInfo,
    described,
    row_id_of,
)
from service.core.journal import Signal
from service.core.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, check_page_size
from service.feed import schemas, service
from service.measurements import values as measurement_values
from service.measurements.graphql import Actual, actuals_by_ids


@strawberry.enum(description="What became of the entity a change names.")
class ChangeKind(Enum):
    UPSERT = strawberry.enum_value("upsert", description="The entity was created or changed: read it again.")
    DELETE = strawberry.enum_value("delete", description="The entity is gone.")


@strawberry.type(description="An entity a change belongs to, e.g. a membership's organisation.")
class EntityRef:
    entity: str = strawberry.field(description="The kind of entity.")
    # `rowId`, not `id`: GraphQL clients' caches (Relay, Apollo) take an `id` for a record's identity, and one entity
    # is named by many changes and references.
    row_id: strawberry.ID = strawberry.field(description="Its id, as REST gives it (a node's `rowId`).")


@strawberry.type(description="An entity's latest change.")
class Change:
    entity: str = strawberry.field(
        description="The kind of entity: `institution`, `organization`, `membership`, `measurement`, …."
    )
    row_id: strawberry.ID = strawberry.field(description="The entity's id, as REST gives it (a node's `rowId`).")
    change: ChangeKind = strawberry.field(description="Whether it is there (read it again) or gone.")
    action: str = strawberry.field(
        description="What the write did: create, update, delete, correct, approve, return or assess."
    )
    at: dt.datetime = strawberry.field(description="When the writing transaction began.")
    parent: EntityRef | None = strawberry.field(
        description="The entity it belongs to, e.g. a membership's organisation."
    )

    @classmethod
    def of(cls, change: schemas.Change) -> "Change":
        parent = (
            EntityRef(entity=change.parent.entity, row_id=strawberry.ID(change.parent.id)) if change.parent else None
        )
        return cls(
            entity=change.entity, row_id=strawberry.ID(change.id), change=ChangeKind(change.change),
            action=change.action,
            at=change.at, parent=parent,
        )  # fmt: skip


@strawberry.type(description="A page of the changes feed.")
class ChangeFeed:
    items: list[Change] = strawberry.field(
        description="The changes on this page, in commit order.", metadata=PAGE_OF_FIRST
    )
    page_info: PageInfo = strawberry.field(description="`endCursor` while more changes are waiting.")
    resume_cursor: str = strawberry.field(
        description="Store it and pass it as `after` on the next poll; it never skips a change that commits later."
    )

    @classmethod
    def of(cls, page: schemas.ChangesPage) -> "ChangeFeed":
        return cls(
            items=[Change.of(item) for item in page.items],
            page_info=PageInfo(
                has_next_page=page.next_cursor is not None,
                has_previous_page=False,
                start_cursor=None,
                end_cursor=page.next_cursor,
            ),  # fmt: skip
            resume_cursor=page.resume_cursor,
        )


SinceArgument = described(dt.datetime | None, "On the first call: the changes after this moment (else all).")


@strawberry.type
class FeedQuery:
    @strawberry.field(
        description="Every entity changed or deleted, each once at its latest change, in commit order: start with "
        "`since` (or nothing), then pass `pageInfo.endCursor`, and once caught up `resumeCursor`, as `after`."
    )
    async def changes(
        self,
        info: Info[Context, None],
        since: SinceArgument = None,
        after: CursorArgument = None,
        first: FirstArgument = DEFAULT_LIMIT,
    ) -> ChangeFeed:
        page = await info.context.run(service.changes, since=since, cursor=after, limit=first)
        return ChangeFeed.of(page)


@strawberry.type(description="New revisions of an indicator's actuals, and revisions reviewed since.")
class ActualsUpdate:
    items: list[Actual] = strawberry.field(
        description="The revisions that changed, as they stand now.", metadata=PAGE_OF_FIRST
    )
    resume_cursor: str = strawberry.field(
        description="Store it: subscribing again with it as `after` sends everything that committed since."
    )


@dataclass
class _ActualsPage:
    items: list
    next_cursor: str | None
    resume_cursor: str


def _follow(info: Info[Context, None], read: live.Read, concerns: Callable[[Signal], bool]) -> AsyncIterator:
    state = info.context.request.app.state
    return live.follow(state.change_listener, state.sessionmaker, read, concerns)


SUBSCRIBING = (
    " The first event comes at once (its `resumeCursor` is where you stand, even with no items); after that, one "
    "event whenever changes commit. Reconnecting with the last `resumeCursor` as `after` misses nothing: what "
    "committed meanwhile comes first, then the live changes. Without `after` it starts from now."
)
ResumeArgument = Annotated[
    str | None,
    strawberry.argument(
        description=at_most_characters(MAX_CURSOR_LENGTH, "The last event's `resumeCursor`: continue after it."),
        metadata=max_length(MAX_CURSOR_LENGTH),
    ),
]


@strawberry.type
class FeedSubscription:
    @strawberry.subscription(
        description="The changes feed as it grows: the same entries as `changes`, each event a page of them."
        + SUBSCRIBING
        + " With `since` (and no `after`) it starts from the changes after that moment."
    )
    async def changes(
        self,
        info: Info[Context, None],
        since: SinceArgument = None,
        after: ResumeArgument = None,
        first: FirstArgument = DEFAULT_LIMIT,
    ) -> AsyncGenerator[ChangeFeed, None]:
        check_page_size("first", first)

        async def read(session: AsyncSession, cursor: str | None) -> schemas.ChangesPage:
            if cursor is None and after is None and since is None:
                return schemas.ChangesPage(
                    items=[], next_cursor=None, resume_cursor=await service.current_cursor(session)
                )
            return await service.changes(session, since=since, cursor=cursor or after, limit=first)

        async for page in _follow(info, read, lambda _: True):
            yield ChangeFeed.of(page)

    @strawberry.subscription(
        description="One indicator's actuals as they are posted, corrected and reviewed: each event the "
        "revisions that changed, as they stand (a reviewed one with its new status)." + SUBSCRIBING
    )
    async def measurements(
        self,
        info: Info[Context, None],
        indicator_id: IndicatorIdArgument,
        after: ResumeArgument = None,
        first: FirstArgument = DEFAULT_LIMIT,
    ) -> AsyncGenerator[ActualsUpdate, None]:
        indicator = row_id_of(indicator_id, "Indicator", "an indicator")
        check_page_size("first", first)

        async def read(session: AsyncSession, cursor: str | None) -> _ActualsPage:
            if cursor is None:
                await measurement_values.indicator_context(session, indicator)  # an unknown indicator: NOT_FOUND
                if after is None:
                    return _ActualsPage(items=[], next_cursor=None, resume_cursor=await service.current_cursor(session))
            page = await service.changes(
                session,
                since=None,
                cursor=cursor or after,
                limit=first,
                entity="measurement",
                parent=("indicator", indicator),
            )
            revisions = await actuals_by_ids(session, [uuid.UUID(change.id) for change in page.items])
            return _ActualsPage(items=revisions, next_cursor=page.next_cursor, resume_cursor=page.resume_cursor)

        def concerns(signal: Signal) -> bool:
            return signal.entity == "measurement" and signal.parent_id == str(indicator)

        async for page in _follow(info, read, concerns):
            yield ActualsUpdate(items=page.items, resume_cursor=page.resume_cursor)
