"""GraphQL plumbing: the per-request context with its DataLoaders, the one commit, error codes, and the router
that speaks GraphQL over HTTP (media types, status codes) and bounds an execution's wall-clock time and its
answer's size."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from fastapi import Response
from graphql import GraphQLError, GraphQLSyntaxError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.dataloader import DataLoader
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import MaskErrors, ParserCache, SchemaExtension
from strawberry.fastapi import BaseContext, GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from service.core.auth import OidcVerifier, Principal, count_write, principal_of
from service.core.caching import etag_of
from service.core.errors import (
    DATABASE_UNAVAILABLE,
    ErrorCode,
    Problem,
    database_problem,
    is_database_unavailable,
    problem_response,
)
from service.core.limits import RateLimiter
from service.core.preconditions import none_match

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
R = TypeVar("R")
log = logging.getLogger(__name__)
# The document limits, applied while parsing and validating (the response cache parses with the same token limit).
MAX_DEPTH, MAX_ALIASES, MAX_TOKENS = 12, 30, 5000
# The request body's JSON (query, variables): the schema's deepest input, a membership's events, nests 5 levels.
MAX_JSON_DEPTH = 32

BatchLoad = Callable[[AsyncSession, Sequence[K]], Awaitable[dict[K, V]]]


class Context(BaseContext):
    """One per request: the request's session and the DataLoaders built on it.

    An AsyncSession runs one statement at a time while Strawberry resolves sibling fields
    concurrently, so every database call of a request goes through one lock.
    """

    def __init__(
        self,
        session: AsyncSession,
        write_limiter: RateLimiter,
        authorization: str | None = None,
        oidc: OidcVerifier | None = None,
    ):
        super().__init__()
        self.session = session
        self.write_limiter = write_limiter
        self.authorization = authorization
        self.oidc = oidc
        self._lock = asyncio.Lock()
        self._loaders: dict[Callable, DataLoader] = {}

    async def run(self, fn: Callable[..., Awaitable[R]], *args: Any, **kwargs: Any) -> R:
        async with self._lock:
            return await fn(self.session, *args, **kwargs)

    async def caller(self) -> Principal:
        """The caller of a field that needs a token (401 without one), named in the access log as REST's
        `current_principal` does; an answer computed for a principal is never stored by the response cache."""
        principal = await self.run(principal_of, self.authorization, self.oidc)
        if self.request is not None:
            self.request.state.principal = principal.describe()
        return principal

    async def writer(self) -> Principal:
        """The caller of a mutation field, counted as one write: 31 mutations in one request are 31 writes."""
        principal = await self.caller()
        count_write(self.write_limiter, principal)
        return principal

    def loader(self, batch_load: BatchLoad, missing: Callable[[], Any] = lambda: None) -> DataLoader:
        """The request's DataLoader over `batch_load(session, keys) -> {key: value}`."""
        if batch_load not in self._loaders:

            async def load(keys: list) -> list:
                found = await self.run(batch_load, keys)
                return [found[key] if key in found else missing() for key in keys]

            self._loaders[batch_load] = DataLoader(load_fn=load)
        return self._loaders[batch_load]


class CodedParserCache(ParserCache):
    """Strawberry's parser cache, except for a document that does not parse: raised from this hook, its syntax
    error would skip the error-code extension, so the hook steps aside and Strawberry's own parse reports it."""

    def on_parse(self) -> Iterator[None]:
        try:
            yield from super().on_parse()
        except GraphQLError:
            yield


NOT_SAVED = "The changes could not be saved; nothing was written."


async def _settle(session: AsyncSession, result: Any, is_mutation: bool) -> None:
    if result.errors:
        await session.rollback()
        if is_mutation:
            result.data = None
        return
    try:
        await session.commit()
    except Exception as error:  # whatever stopped the commit, the answer must not claim the write
        result.data = None
        result.errors = [GraphQLError(NOT_SAVED, original_error=error)]


class CommitOnce(SchemaExtension):
    """The operation's writes are committed once, after execution and before the answer is sent, and only if
    no field failed. Otherwise all are rolled back, and a mutation answers `data: null` beside its errors, so
    that no field of the answer speaks of a write that did not happen (an operation is all or nothing)."""

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        context, result = self.execution_context.context, self.execution_context.result
        if isinstance(context, Context) and result is not None:
            is_mutation = self.execution_context.operation_type == OperationType.MUTATION
            await context.run(_settle, result, is_mutation)


_CODE_BY_STATUS = {
    400: ErrorCode.BAD_USER_INPUT,
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    409: ErrorCode.CONFLICT,
    429: ErrorCode.RATE_LIMITED,
    412: ErrorCode.PRECONDITION_FAILED,
    428: ErrorCode.PRECONDITION_REQUIRED,
    404: ErrorCode.NOT_FOUND,
    422: ErrorCode.BAD_USER_INPUT,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


class ErrorCodes(MaskErrors):
    """Every error leaves with a stable `extensions.code`; unexpected ones leave without their details."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._classify(error) for error in errors]

    def _with_code(self, error: GraphQLError, message: str, code: str) -> GraphQLError:
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": code},
        )

    def _classify(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is not None and (problem := database_problem(original)) is not None:
            original = problem
        if isinstance(original, Problem):
            code = original.extra.get("code") or _CODE_BY_STATUS.get(original.status, ErrorCode.BAD_USER_INPUT)
            return self._with_code(error, original.detail, code)
        if original is not None and is_database_unavailable(original):
            return self._with_code(error, DATABASE_UNAVAILABLE, ErrorCode.SERVICE_UNAVAILABLE)
        if original is None:
            if error.extensions and "code" in error.extensions:
                return error
            if isinstance(error, GraphQLSyntaxError):  # also a document past the token limit: parsing stopped
                return self._with_code(error, error.message, ErrorCode.GRAPHQL_PARSE_FAILED)
            # Raised by GraphQL itself: the document does not fit the schema.
            return self._with_code(error, error.message, ErrorCode.GRAPHQL_VALIDATION_FAILED)
        if isinstance(original, InvalidOperationTypeError):  # a query or mutation sent over the WebSocket
            return self._with_code(error, _OVER_HTTP, ErrorCode.BAD_USER_INPUT)
        if isinstance(original, GraphQLError) and original.extensions and "code" in original.extensions:
            return self._with_code(error, original.message, original.extensions["code"])
        if isinstance(original, GraphQLError):
            # GraphQL refused a variable's value for its type (`Float cannot represent non numeric value: nan`).
            return self._with_code(error, _with_hint(error.message), ErrorCode.BAD_USER_INPUT)
        log.error("unhandled error in GraphQL resolver", exc_info=original)
        return self._with_code(error, "An unexpected error occurred; it has been logged.", ErrorCode.INTERNAL)


_OVER_HTTP = "Over the WebSocket only subscriptions run; send queries and mutations as HTTP POST /graphql."
_FLOAT_HINT = " A Float is a finite number: NaN, Infinity and numbers beyond ±1.8e308 are not."


def _with_hint(message: str) -> str:
    return message + _FLOAT_HINT if "Float cannot represent" in message else message


def nesting_depth(value: object) -> int:
    """How deeply lists and objects nest in decoded JSON, counted without recursion."""
    deepest, level = 0, [(value, 0)]
    while level:
        item, depth = level.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth + 1)
            level.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


def negotiated_media_type(accept: str | None) -> str:
    """The answer's media type: `application/graphql-response+json` when the Accept header names it and ranks it
    no lower than JSON; else `application/json`, also for a client that sends no Accept, `*/*` or neither type
    (the spec lets a server answer those older clients in JSON, as this service always did)."""
    graphql_q = json_q = 0.0
    for media_range in (accept or "").split(","):
        media_type, *parameters = (part.strip().lower() for part in media_range.split(";"))
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media_type == GRAPHQL_RESPONSE_JSON:
            graphql_q = max(graphql_q, q)
        elif media_type in (JSON, "application/*", "*/*"):
            json_q = max(json_q, q)
    return GRAPHQL_RESPONSE_JSON if graphql_q > 0 and graphql_q >= json_q else JSON


# A request error (GraphQL over HTTP): nothing executed, because the document did not parse, did not validate
# (the depth, alias, text and cost limits are validation too) or its variables did not coerce. Errors without
# a path but with other codes (a timeout, an answer too large, a commit that failed) happened during execution.
_REQUEST_ERROR_CODES = frozenset(
    {ErrorCode.GRAPHQL_PARSE_FAILED, ErrorCode.GRAPHQL_VALIDATION_FAILED, ErrorCode.BAD_USER_INPUT,
     ErrorCode.QUERY_TOO_COSTLY}
)  # fmt: skip


def is_request_error(result: ExecutionResult) -> bool:
    return (
        result.data is None
        and bool(result.errors)
        and all(e.path is None and (e.extensions or {}).get("code") in _REQUEST_ERROR_CODES for e in result.errors)
    )


def _holds(if_none_match: str, etag: str) -> bool:
    try:
        return none_match(if_none_match, etag)
    except Problem:  # a malformed If-None-Match is no match: the answer is sent whole
        return False


# The media type and status the request's answer takes, and for a GET the If-None-Match it came with (None for a
# POST: not cacheable over HTTP), set once its result is known (a task's own value, so concurrent requests never
# see each other's).
_ANSWER: ContextVar[tuple[str, int, str | None]] = ContextVar("graphql_answer")


class _TextFrames(ASGIWebSocketAdapter):
    """graphql-transport-ws messages are text frames; the router's own JSON is bytes (orjson), which Strawberry
    would send as binary frames that clients refuse."""

    async def send_json(self, message: Any) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as disconnected:
            raise WebSocketDisconnected from disconnected


class _SubscriptionsOnly:
    """The schema as a WebSocket's operations see it: `stream` runs subscriptions only (a query or mutation is
    refused before it runs), so every read and write goes over HTTP, through its limits and its cache."""

    def __init__(self, schema: Any) -> None:
        self._schema = schema

    def __getattr__(self, name: str) -> Any:
        return getattr(self._schema, name)

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        return await self._schema.stream(*args, **kwargs, allowed_operation_types=(OperationType.SUBSCRIPTION,))


class BoundedSubscriptions(BaseGraphQLTransportWSHandler):
    """graphql-transport-ws with this service's bounds: subscriptions only, at most `subscriptions_per_connection`
    on one WebSocket and `subscriptions_per_address` from one client address (in this worker); one more is
    refused with a coded error message, and the connection stays open."""

    view: "LimitedGraphQLRouter"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = _SubscriptionsOnly(self.schema)  # type: ignore[assignment]
        client = self.context.request.client
        self.address = client.host if client else "unknown"

    async def handle(self) -> None:
        connections = self.view.connections_by_address.setdefault(self.address, set())
        connections.add(self)
        try:
            await super().handle()
        finally:
            connections.discard(self)
            if not connections:
                self.view.connections_by_address.pop(self.address, None)

    def _held_by_address(self) -> int:
        # Counted from the connections' own operations, which the protocol removes the moment one completes,
        # so a place freed by a `complete` can be taken by the very next `subscribe`.
        return sum(len(handler.operations) for handler in self.view.connections_by_address.get(self.address, ()))

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self.connection_acknowledged or message["id"] in self.operations:
            await super().handle_subscribe(message)  # the protocol's own answer: the connection is closed
            return
        view, refusal = self.view, None
        if len(self.operations) >= view.subscriptions_per_connection:
            refusal = (
                f"This connection already holds {len(self.operations)} subscriptions, the most one may; "
                "complete one first."
            )
        elif self._held_by_address() >= view.subscriptions_per_address:
            refusal = (
                f"Your address already holds {view.subscriptions_per_address} subscriptions, the most one may; "
                "complete some first."
            )
        if refusal is None:
            await super().handle_subscribe(message)
            return
        error = GraphQLError(refusal, extensions={"code": ErrorCode.TOO_MANY_SUBSCRIPTIONS})
        await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})


class LimitedGraphQLRouter(GraphQLRouter):
    """GraphQL over HTTP as the GraphQL Foundation's spec gives it: `application/graphql-response+json` for a
    client that accepts it (400 without `data` on a request error), `application/json` (always 200) for the
    others; a POST body only as JSON (else 415); GET runs queries only (a mutation is 405). Refusals are
    problem+json. It also cancels an execution that outlives `timeout_s` and replaces an answer larger than
    `max_answer_bytes`, each with a coded error: the cost budget estimates, these two hold what it missed."""

    graphql_transport_ws_handler_class = BoundedSubscriptions
    websocket_adapter_class = _TextFrames  # type: ignore[assignment]

    def __init__(
        self,
        *args: Any,
        timeout_s: float,
        max_answer_bytes: int,
        subscriptions_per_connection: int,
        subscriptions_per_address: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            *args,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=None,  # BoundedSubscriptions counts, and answers with a code
            **kwargs,
        )
        self.timeout_s = timeout_s
        self.max_answer_bytes = max_answer_bytes
        self.subscriptions_per_connection = subscriptions_per_connection
        self.subscriptions_per_address = subscriptions_per_address
        self.connections_by_address: dict[str, set[BoundedSubscriptions]] = {}

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context, root_value)
        except Problem as problem:
            return problem_response(problem.status, problem.detail, headers=problem.headers)
        except HTTPException as refused:  # Strawberry's refusals of a malformed request, as problems
            return problem_response(refused.status_code, refused.reason)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST" and parse_content_type(request.content_type or "")[0] != JSON:
            raise Problem(
                415,
                "A GraphQL POST body is JSON: send it with `Content-Type: application/json` "
                '(`{"query": …, "variables": …}`), or send a query as GET /graphql?query=….',
                headers={"Accept-Post": JSON},
            )
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData) and not isinstance(data.operation_name, (str, type(None))):
            raise Problem(400, "The GraphQL request's `operationName` must be a string or null, if provided.")
        return data

    async def execute_single(
        self,
        request: Any,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Any,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Strawberry's, except for the operation types: HTTP runs queries (GET) and mutations (POST only), never
        a subscription (Strawberry would run one over HTTP as if it were a query)."""
        get = request_adapter.method == "GET"
        allowed = {OperationType.QUERY} if get else {OperationType.QUERY, OperationType.MUTATION}
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self.schema.execute(
                    request_data.query,
                    root_value=root_value,
                    variable_values=request_data.variables,
                    context_value=context,
                    operation_name=request_data.operation_name,
                    allowed_operation_types=allowed,
                    operation_extensions=request_data.extensions,
                )
        except InvalidOperationTypeError as refused:
            if refused.operation_type == OperationType.SUBSCRIPTION:
                raise Problem(400, "A subscription runs over a WebSocket at /graphql (graphql-transport-ws).") from None
            mutation = "GET runs queries only; send a mutation as POST /graphql."
            raise Problem(405, mutation, headers={"Allow": "POST"}) from None
        except CannotGetOperationTypeError as refused:
            raise Problem(400, refused.as_http_error_reason()) from None
        except MissingQueryError:
            raise Problem(400, 'The request has no GraphQL `query`: send {"query": "{ … }"}.') from None
        except TimeoutError:
            message = (
                f"The query ran longer than {self.timeout_s:g} s and was cancelled; "
                "ask for fewer items or fewer nested lists."
            )
            return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": ErrorCode.TIMEOUT})])

    def decode_json(self, data: str | bytes) -> object:
        """The request's JSON, refused (400) when nested deeper than any input type of the schema goes: GraphQL
        coerces variables recursively, and Python's own JSON reader gives up near 1,000 levels."""
        too_deep = HTTPException(
            400, f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep; no input needs that."
        )
        try:
            decoded = json.loads(data)
        except RecursionError:
            raise too_deep from None
        if nesting_depth(decoded) > MAX_JSON_DEPTH:
            raise too_deep
        return decoded

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        answer = await super().process_result(request, result)
        media_type, status = negotiated_media_type(request.headers.get("accept")), 200
        if media_type == GRAPHQL_RESPONSE_JSON and is_request_error(result):
            del answer["data"]  # nothing executed, so there is no data, not even null
            status = 400
        conditional = request.headers.get("if-none-match", "") if request.method == "GET" else None
        _ANSWER.set((media_type, status, conditional))
        return answer

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        media_type, status, if_none_match = _ANSWER.get((JSON, 200, None))
        body = self.encode_json(response_data)
        status = sub_response.status_code or status
        response = Response(body, media_type=media_type, status_code=status)
        if if_none_match is not None and status == 200:
            # A query over GET is cacheable: an ETag of the answer, revalidated on every use (the data changes).
            etag = etag_of(body if isinstance(body, bytes) else body.encode())
            response.headers.update({"ETag": etag, "Cache-Control": "no-cache"})
            if _holds(if_none_match, etag):
                response = Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
        response.headers.raw.extend(sub_response.headers.raw)
        response.headers.append("Vary", "Accept")
        return response

    def encode_json(self, data: object) -> str | bytes:
        encoded = orjson.dumps(data)
        if len(encoded) <= self.max_answer_bytes:
            return encoded
        message = (
            f"The answer would be {len(encoded)} bytes, over the limit of {self.max_answer_bytes}; "
            "ask for fewer items (`first`) or fewer fields."
        )
        return orjson.dumps(
            {"data": None, "errors": [{"message": message, "extensions": {"code": ErrorCode.TOO_LARGE}}]}
        )
