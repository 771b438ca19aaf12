"""ETag and If-None-Match for read responses, and how the OpenAPI document says so."""

import hashlib
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from service.core.preconditions import MAX_IF_MATCH, none_match

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


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_of_payload(payload: BaseModel) -> str:
    """The strong ETag of a representation: what a GET sends, and what an edit's If-Match is checked against."""
    return etag_of(payload.model_dump_json().encode())


def json_with_etag(request: Request, payload: BaseModel) -> Response:
    """The payload as JSON with a strong ETag, or 304 when the client already holds it."""
    body = payload.model_dump_json().encode()
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def written(payload: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The state an edit left, with its ETag, so that the next edit can send it as If-Match."""
    body = payload.model_dump_json().encode()
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
