"""The changes feed's entries, as REST serves them (GraphQL mirrors the same fields)."""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from service.core.journal import JournalEntry


class EntityRef(BaseModel):
    entity: str
    id: str


class Change(BaseModel):
    entity: str
    id: str
    change: Literal["upsert", "delete"]
    action: str
    at: dt.datetime
    parent: EntityRef | None = None

    @classmethod
    def of(cls, entry: JournalEntry) -> "Change":
        parent = EntityRef(entity=entry.parent_entity, id=entry.parent_id) if entry.parent_entity else None
        change = "delete" if entry.action == "delete" else "upsert"
        return cls(
            entity=entry.entity, id=entry.entity_id, change=change, action=entry.action, at=entry.at, parent=parent
        )


class ChangesPage(BaseModel):
    items: list[Change]
    next_cursor: str | None = Field(description="More changes are waiting: pass it as `cursor` for the next page.")
    resume_cursor: str = Field(
        description="Where this page ends: store it and pass it as `cursor` on the next poll. It never skips a "
        "change, not even one whose transaction commits after this answer."
    )
