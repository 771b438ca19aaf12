"""ETag and If-None-Match for read responses, and how the OpenAPI document says so."""

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.db import lock_row
from service.core.errors import NotFound
from service.core.preconditions import MAX_IF_MATCH, none_match, require_match

Row = TypeVar("Row")

ETAG_HEADER: dict[str, Any] = {
    "ETag": {"description": "A strong validator of this representation.", "schema": {"type": "string"}}
}
# The `responses` of a read answered by json_with_etag; document_conditional_reads adds the request header.
CONDITIONAL_READ: dict[int | str, dict[str, Any]] = {
    200: {"headers": ETAG_HEADER},
    304: {"description": "Not Modified: the ETag sent in If-None-Match is still current; no body.",
          "headers": ETAG_HEADER},
}  # fmt: skip
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": MAX_IF_MATCH},
    "description": 'ETags the client holds (`"…"`, comma-separated, or `*`); a match gives 304 without a body.',
}


# A representation: a pydantic model, or plain data already in its model's shape (dicts, lists, str, numbers,
# UUIDs, datetimes), which orjson writes as pydantic would, without validating what the read built.
Payload = BaseModel | dict[str, Any]
Out = TypeVar("Out", bound=Payload)


def _uuid_text(value: object) -> str:
    # asyncpg's own UUID class (a subclass, which orjson does not take for a uuid.UUID)
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not plain data")


def json_bytes(payload: Payload) -> bytes:
    if isinstance(payload, BaseModel):
        return payload.model_dump_json().encode()
    return orjson.dumps(payload, default=_uuid_text, option=orjson.OPT_UTC_Z)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_of_payload(payload: Payload) -> str:
    """The strong ETag of a representation: what a GET sends, and what an edit's If-Match is checked against."""
    return etag_of(json_bytes(payload))


def json_with_etag(request: Request, payload: Payload) -> Response:
    """The payload as JSON with a strong ETag, or 304 when the client already holds it."""
    body = json_bytes(payload)
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def written(payload: Payload, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The state an edit left, with its ETag, so that the next edit can send it as If-Match."""
    body = json_bytes(payload)
    return Response(
        body, status_code=status_code, media_type="application/json", headers={"ETag": etag_of(body), **(headers or {})}
    )


def document_conditional_reads(openapi: dict[str, Any]) -> dict[str, Any]:
    """Every operation that can answer 304 takes If-None-Match."""
    for path in openapi.get("paths", {}).values():
        for operation in path.values():
            if "304" in operation.get("responses", {}):
                operation.setdefault("parameters", []).append(dict(IF_NONE_MATCH))
    return openapi


async def locked_at_version(
    session: AsyncSession,
    model: type[Row],
    row_id: Any,
    if_match: str | None,
    read: Callable[[Row], Awaitable[Out]],
    *,
    what: str,
    key: object = None,
) -> tuple[Row, Out]:
    """The row an admin edit changes, locked until the transaction ends, and its representation now, once the
    edit's If-Match names that version: a concurrent edit or delete waits, then gets 412 or 404, never a 500."""
    row = await lock_row(session, model, row_id) if row_id is not None else None
    if row is None:
        raise NotFound(what, key if key is not None else str(row_id))
    current = await read(row)
    require_match(if_match, etag_of_payload(current), what=what)
    return row, current
