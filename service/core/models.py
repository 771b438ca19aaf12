"""Columns and ids shared by every domain's tables."""

import base64
import datetime as dt
import re
import uuid
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema
from sqlalchemy import DateTime, func
from sqlmodel import Field, SQLModel

_NAMESPACE = uuid.UUID("6f1c1f0e-4e0b-4a39-9d8e-2b7f3c0a5d11")


def stable_id(kind: str, *natural_key: str) -> uuid.UUID:
    """The id of an entity derived from its natural key, so that reloading seed data keeps every id."""
    return uuid.uuid5(_NAMESPACE, kind + ":" + "|".join(natural_key))


def named_row_id(value: str, type_name: str) -> uuid.UUID | None:
    """The row a client's id names: REST's uuid, or a GraphQL node's global id (Relay's base64 of
    `Type:uuid`) of that type; None when it is neither (a key, an acronym, another type's node)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        pass
    try:
        named, _, row = base64.b64decode(value, validate=True).decode().partition(":")
        return uuid.UUID(row) if named == type_name else None
    except (ValueError, UnicodeDecodeError):
        return None


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A client's timestamp without an offset is read as UTC (RFC 3339 asks for one; be lenient, not wrong)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def representable(moment: dt.datetime) -> dt.datetime:
    # 0001-01-01T00:00+14:00 is before year 1 in UTC: no database or Python datetime holds it.
    try:
        moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("the timestamp is outside years 1-9999 once converted to UTC") from None
    return moment


class Timestamped(SQLModel):
    created_at: dt.datetime = Field(
        default=None,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now(), "nullable": False},
    )
    updated_at: dt.datetime = Field(
        default=None,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now(), "nullable": False},
    )


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?$")
# The longest text the pattern accepts: 2024-01-31T00:00:00.123456789+14:00.
RFC3339_MAX = 35


def _rfc3339(value: object) -> object:
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 timestamp such as 2024-01-31T00:00:00Z")
    return value


Rfc3339 = Annotated[
    dt.datetime,
    BeforeValidator(_rfc3339),
    AfterValidator(as_utc),
    AfterValidator(representable),
    WithJsonSchema({"type": "string", "format": "date-time", "maxLength": RFC3339_MAX}),
]

YearPath = Annotated[int, Path(ge=1900, le=2100, description="A calendar year, e.g. 2024.")]
