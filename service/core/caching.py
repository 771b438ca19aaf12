"""ETag and If-None-Match for read responses, and how the OpenAPI document says so."""

import hashlib
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

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
    "schema": {"type": "string"},
    "description": 'ETags the client holds (`"…"`, comma-separated, or `*`); a match gives 304 without a body.',
}


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def json_with_etag(request: Request, payload: BaseModel) -> Response:
    """The payload as JSON with a strong ETag, or 304 when the client already holds it."""
    body = payload.model_dump_json().encode()
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def document_conditional_reads(openapi: dict[str, Any]) -> dict[str, Any]:
    """Every operation that can answer 304 takes If-None-Match."""
    for path in openapi.get("paths", {}).values():
        for operation in path.values():
            if "304" in operation.get("responses", {}):
                operation.setdefault("parameters", []).append(dict(IF_NONE_MATCH))
    return openapi
