"""Keyset pagination: a page is `{"items": [...], "next_cursor": "..." | null}`.

The cursor is the sort key of the last item sent, so inserts between two requests
neither repeat nor skip rows, and a deep page costs what the first one does. GraphQL's
connections also page backward (`last` / `before`): the same order read in reverse.
"""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, or_, tuple_

from service.core.errors import BadRequest

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def next_cursor(rows: Sequence[T], limit: int, sort_key: Callable[[T], list[Any]]) -> str | None:
    """The cursor after a page fetched with `limit + 1` rows; None when that extra row did not come."""
    return encode_cursor(sort_key(rows[limit - 1])) if len(rows) > limit else None


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> tuple:
    """The sort key inside a cursor, each part converted to its kind (str, int, UUID)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(key, list) or len(key) != len(kinds):
            raise ValueError("wrong arity")
        if any(isinstance(part, bool) or not isinstance(part, (str, int)) for part in key):
            raise ValueError("not a sort key")
        return tuple(kind(part) for kind, part in zip(kinds, key, strict=True))
    except (binascii.Error, ValueError, TypeError, AttributeError, UnicodeDecodeError):
        raise BadRequest("The cursor is not one this service issued; start again without it.") from None


def check_page_size(argument: str, size: int) -> None:
    """A GraphQL page size; GraphQL has no `ge`/`le` on an argument, so it is checked here."""
    if not 1 <= size <= MAX_LIMIT:
        raise BadRequest(f"`{argument}` must be between 1 and {MAX_LIMIT}; it was {size}.")


@dataclass(frozen=True, slots=True)
class Window:
    """Which rows of a keyset order a page holds: `size` rows after `after` (forward), or the `size` rows just
    before `before` (backward, GraphQL's `last`); both cursors may bound one window."""

    size: int
    after: str | None = None
    before: str | None = None
    backward: bool = False

    @classmethod
    def of(
        cls, *, first: int | None, after: str | None, last: int | None, before: str | None, default: int
    ) -> "Window":
        """A Relay connection's arguments as a window; neither `first` nor `last`: the first `default` rows."""
        if first is not None and last is not None:
            raise BadRequest("Pass `first` (to page forward) or `last` (to page backward), not both.")
        for name, size in (("first", first), ("last", last)):
            if size is not None:
                check_page_size(name, size)
        size = first if first is not None else last if last is not None else default
        return cls(size, after, before, backward=last is not None)


@dataclass(frozen=True, slots=True)
class KeysetOrder:
    """A listing's order: its columns (`True` beside one sorted descending), the last of them unique, and how the
    parts of a cursor are read back (str, int, UUID)."""

    columns: tuple[tuple[ColumnElement, bool], ...]
    kinds: tuple[type, ...]

    def select(self, stmt: Select, window: Window) -> Select:
        """`stmt` narrowed to the window, in the order (reversed for a backward window), one row beyond its size
        to tell whether more follow."""
        if window.after:
            stmt = stmt.where(self._beyond(decode_cursor(window.after, self.kinds), forward=True))
        if window.before:
            stmt = stmt.where(self._beyond(decode_cursor(window.before, self.kinds), forward=False))
        order = [column.desc() if down != window.backward else column.asc() for column, down in self.columns]
        return stmt.order_by(*order).limit(window.size + 1)

    def _beyond(self, key: tuple, *, forward: bool) -> ColumnElement[bool]:
        """Rows after `key` in the order (before it, with `forward` false). Columns all one way compare as one row
        value (which an index on them serves); mixed ones as "greater on a column, equal on those before it"."""
        directions = {descending for _, descending in self.columns}
        if len(directions) == 1:
            row = tuple_(*(column for column, _ in self.columns))
            return row < key if directions == {forward} else row > key
        alternatives = []
        for depth, (column, descending) in enumerate(self.columns):
            equal = [earlier == part for (earlier, _), part in zip(self.columns[:depth], key, strict=False)]
            alternatives.append(and_(*equal, column < key[depth] if descending == forward else column > key[depth]))
        return or_(*alternatives)


@dataclass(slots=True)
class Slice(Generic[T]):
    """A window's rows in the listing's order, and whether rows lie beyond either end."""

    rows: list[T]
    has_next: bool
    has_previous: bool

    @classmethod
    def of(cls, rows: Sequence[T], window: Window) -> "Slice[T]":
        """From the rows `KeysetOrder.select` read. A bounding cursor means rows lie beyond it (Relay lets a
        server answer so without looking)."""
        more = len(rows) > window.size
        kept = list(rows[: window.size])
        if window.backward:
            kept.reverse()
            return cls(kept, has_next=window.before is not None, has_previous=more)
        return cls(kept, has_next=more, has_previous=window.after is not None)


LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (at most {MAX_LIMIT}).")]
MAX_CURSOR_LENGTH = 2000
CursorParam = Annotated[
    str | None, Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page.")
]
