"""Keyset pagination: a page is `{"items": [...], "next_cursor": "..." | null}`.

The cursor is the sort key of the last item sent, so inserts between two requests
neither repeat nor skip rows, and a deep page costs what the first one does.
"""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

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


LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (at most {MAX_LIMIT}).")]
MAX_CURSOR_LENGTH = 2000
CursorParam = Annotated[
    str | None, Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page.")
]
