"""RFC 9457 problem details for REST, stable error codes for GraphQL."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(Exception):
    """An error a client can act on; rendered as `application/problem+json`."""

    def __init__(
        self, status: int, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None, **extra: Any
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers
        self.extra = extra


# An error detail quotes at most this much of what the client sent: enough to recognise it, never the whole.
QUOTE_MAX = 40


def quoted(value: object) -> str:
    """A client's text for an error detail: in quotes, cut to `QUOTE_MAX` characters and `…`."""
    text = str(value)
    return repr(text if len(text) <= QUOTE_MAX else text[:QUOTE_MAX] + "…")


class NotFound(Problem):
    def __init__(self, what: str, key: object):
        super().__init__(404, f"No {what} with id or key {quoted(key)}.")


class BadRequest(Problem):
    def __init__(self, detail: str, **extra: Any):
        super().__init__(400, detail, **extra)


def problem_response(
    status: int, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = Field(None, description="Per-field reasons, for invalid input.")


# What the plumbing answers before or around any route: too large a body (413), too many writes (429),
# the database away (503). /healthz and /metrics do not touch the database.
_BODY_METHODS, _WRITE_METHODS = {"post", "put", "patch"}, {"post", "put", "patch", "delete"}
_WITHOUT_DATABASE = {"/healthz", "/metrics"}


def _plumbing_statuses(path: str, method: str) -> dict[str, str]:
    statuses = {}
    if method in _BODY_METHODS:
        statuses["413"] = "The request body is larger than the limit (`MAX_BODY_BYTES`)."
    if method in _WRITE_METHODS:
        statuses["429"] = "Too many writes a minute from this token or address; see `Retry-After`."
    if path not in _WITHOUT_DATABASE:
        statuses["503"] = "The database is not reachable right now; retry after `Retry-After`."
    return statuses


# Every 429 and 503 the service sends says when to try again.
_RETRY_STATUSES = {"429", "503"}
_RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "integer", "minimum": 1, "maximum": 3600, "format": "int32"},
}


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what the service sends: every error is problem+json."""
    openapi.setdefault("components", {}).setdefault("schemas", {})["Problem"] = ProblemDetails.model_json_schema()
    schemas = openapi["components"]["schemas"]
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for template, path in openapi.get("paths", {}).items():
        for method, operation in path.items():
            responses = operation.setdefault("responses", {})
            for status, description in _plumbing_statuses(template, method).items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
                if status in _RETRY_STATUSES:
                    response.setdefault("headers", {})["Retry-After"] = _RETRY_AFTER
    return openapi


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each a problem+json body."""
    return {
        code: {
            "description": HTTPStatus(code).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code in codes
    }


PROBLEM_RESPONSES = problem_responses(400, 404, 422)
# 412 and 428 are added to the operations that take If-Match (preconditions.document).
WRITE_RESPONSES = PROBLEM_RESPONSES | problem_responses(401, 403, 409, 503)


def _validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = []
    for err in exc.errors():
        location = ".".join(str(part) for part in err.get("loc", ()))
        errors.append({"field": location, "message": err.get("msg", "invalid")})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "The request is not valid."
    return detail, errors


def sqlstate(error: DBAPIError) -> str | None:
    """PostgreSQL's error code behind a driver error (the asyncpg adapter keeps it on the cause)."""
    for candidate in (error.orig, getattr(error.orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return code
    return None


def is_database_unavailable(error: BaseException) -> bool:
    """The database cannot be reached, went away mid-request or ran out of time: a 503 to retry, not a 500."""
    if isinstance(error, (OperationalError, InterfaceError, PoolTimeout, ConnectionError, OSError)):
        return True
    return isinstance(error, DBAPIError) and (error.connection_invalidated or sqlstate(error) in _UNAVAILABLE_STATES)


# character_not_in_repertoire, untranslatable_character: PostgreSQL text cannot hold NUL.
_UNSTORABLE_TEXT = {"22021", "22P05"}
# query_canceled (statement_timeout), admin_shutdown ("the database system is shutting down"),
# crash_shutdown, cannot_connect_now (starting up): all pass if the client retries.
_UNAVAILABLE_STATES = {"57014", "57P01", "57P02", "57P03"}
UNIQUE_VIOLATION = "23505"
# deadlock_detected, serialization_failure: the transaction lost a race; running it again can succeed.
TRANSIENT_CONFLICTS = {"40P01", "40001"}
DATABASE_UNAVAILABLE = "The database is not reachable right now; retry shortly."


def database_problem(error: BaseException) -> Problem | None:
    """The problem a client can act on behind a database error that got past the domain's own checks."""
    if not isinstance(error, DBAPIError):
        return None
    state = sqlstate(error)
    if state in _UNSTORABLE_TEXT:
        return Problem(422, "The input holds a character that cannot be stored (e.g. a NUL byte).")
    if state == UNIQUE_VIOLATION:
        return Problem(409, "Another request wrote the same record at the same moment; fetch it and try again.")
    if state in TRANSIENT_CONFLICTS:
        return Problem(
            503,
            "Concurrent writes to the same records kept colliding; nothing was written. Retry shortly.",
            headers={"Retry-After": "1"},
        )
    return None


_PROBED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the routes serve `path` with (GraphQL's included), as routing decides, plus HEAD and OPTIONS."""

    def served(method: str) -> bool:
        scope = {"type": "http", "path": path, "method": method, "root_path": "", "headers": []}
        return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)

    methods = {method for method in _PROBED_METHODS if served(method)}
    if not methods:
        return []
    return sorted(methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set()))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, title=exc.title, headers=exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = _validation_detail(exc)
        return problem_response(422, detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if isinstance(exc.__cause__, RecursionError):  # FastAPI's "error parsing the body" for JSON nested ~1,000 deep
            detail = "The JSON body is nested too deeply to read; no input of this API nests more than a few levels."
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the first matching route; a path served by several
            # routers has more. Name them all, as the OpenAPI document does.
            allowed = allowed_methods(request.app, request.url.path)
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not supported here; use {' or '.join(allowed)}."
        return problem_response(exc.status_code, detail, headers=headers or None)

    # Any other exception reaches RequestMiddleware, which answers it with `unexpected_problem` and the
    # headers every answer carries (Starlette's handler for `Exception` would answer outside the middleware).
    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(ConnectionError)
    @app.exception_handler(OSError)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        problem = unexpected_problem(exc)
        return problem_response(problem.status, problem.detail, headers=problem.headers)


def unexpected_problem(error: Exception) -> Problem:
    """The answer to an exception no route handled: a database problem the client can act on, 503 while the
    database is away, else a 500 that is logged with its traceback."""
    if (problem := database_problem(error)) is not None:
        return problem
    if is_database_unavailable(error):
        log.warning("database unavailable: %s", error.__class__.__name__)
        return Problem(503, DATABASE_UNAVAILABLE, headers={"Retry-After": "5"})
    log.exception("unhandled error", exc_info=error)
    return Problem(500, "An unexpected error occurred; it has been logged.")


class ErrorCode:
    """Values of `extensions.code` in GraphQL errors; clients may switch on them."""

    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    PERIOD_CLOSED = "PERIOD_CLOSED"  # a write to a reporting year an admin closed (a Problem's `code`)
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    PRECONDITION_REQUIRED = "PRECONDITION_REQUIRED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    TIMEOUT = "QUERY_TIMEOUT"
    TOO_LARGE = "ANSWER_TOO_LARGE"
    TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"
    INTERNAL = "INTERNAL_SERVER_ERROR"
