"""The changes feed in GraphQL: the same entries as GET /api/v1/changes."""

import datetime as dt
from enum import StrEnum

import strawberry
from strawberry.types import Info

from service.core.graphql import Context
from service.core.graphql_cost import PAGE_OF_FIRST
from service.core.graphql_types import CursorArgument, PageInfo
from service.core.models import as_utc
from service.core.pagination import DEFAULT_LIMIT
from service.feed import schemas, service


@strawberry.enum(description="`DELETE`: the entity is gone.")
class ChangeKind(StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"


@strawberry.type(description="An entity a change belongs to, e.g. a membership's organisation.")
class EntityRef:
    entity: str
    id: strawberry.ID


@strawberry.type(description="An entity's latest change.")
class Change:
    entity: str
    id: strawberry.ID
    change: ChangeKind
    action: str = strawberry.field(description="create, update, delete, correct, approve, return, assess.")
    at: dt.datetime = strawberry.field(description="When the writing transaction began.")
    parent: EntityRef | None

    @classmethod
    def of(cls, change: schemas.Change) -> "Change":
        parent = EntityRef(entity=change.parent.entity, id=strawberry.ID(change.parent.id)) if change.parent else None
        return cls(
            entity=change.entity, id=strawberry.ID(change.id), change=ChangeKind(change.change), action=change.action,
            at=change.at, parent=parent,
        )  # fmt: skip


@strawberry.type(description="A page of the changes feed.")
class ChangeFeed:
    items: list[Change] = strawberry.field(metadata=PAGE_OF_FIRST)
    page_info: PageInfo = strawberry.field(description="`endCursor` while more changes are waiting.")
    resume_cursor: str = strawberry.field(
        description="Store it and pass it as `after` on the next poll; it never skips a change that commits later."
    )


@strawberry.type
class FeedQuery:
    @strawberry.field(
        description="Every entity changed or deleted, each once at its latest change, in commit order: start with "
        "`since` (or nothing), then pass `pageInfo.endCursor`, and once caught up `resumeCursor`, as `after`."
    )
    async def changes(
        self,
        info: Info[Context, None],
        since: dt.datetime | None = None,
        after: CursorArgument = None,
        first: int = DEFAULT_LIMIT,
    ) -> ChangeFeed:
        page = await info.context.run(
            service.changes, since=as_utc(since) if since else None, cursor=after, limit=first
        )
        return ChangeFeed(
            items=[Change.of(item) for item in page.items],
            page_info=PageInfo(has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor),
            resume_cursor=page.resume_cursor,
        )
