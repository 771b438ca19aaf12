"""ETags of representations, and If-None-Match for read responses."""

import hashlib

from fastapi import Request, Response
from pydantic import BaseModel

from service.core.preconditions import none_match


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
