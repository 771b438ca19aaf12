"""GraphQL plumbing: the per-request context with its DataLoaders, the one commit, error codes, and the router
that bounds an execution's wall-clock time and its answer's size."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator, Sequence
from typing import Any, TypeVar

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader
from strawberry.extensions import MaskErrors, ParserCache, SchemaExtension
from strawberry.fastapi import BaseContext, GraphQLRouter
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from service.core.auth import Principal, count_write, principal_of
from service.core.errors import DATABASE_UNAVAILABLE, ErrorCode, Problem, database_problem, is_database_unavailable
from service.core.limits import RateLimiter

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

    def __init__(self, session: AsyncSession, write_limiter: RateLimiter, authorization: str | None = None):
        super().__init__()
        self.session = session
        self.write_limiter = write_limiter
        self.authorization = authorization
        self._lock = asyncio.Lock()
        self._loaders: dict[Callable, DataLoader] = {}

    async def run(self, fn: Callable[..., Awaitable[R]], *args: Any, **kwargs: Any) -> R:
        async with self._lock:
            return await fn(self.session, *args, **kwargs)

    async def writer(self) -> Principal:
        """The caller of a mutation field, counted as one write: 31 mutations in one request are 31 writes."""
        principal = await self.run(principal_of, self.authorization)
        if self.request is not None:
            # For the access log, as REST's current_principal does; and an answer computed for a principal is
            # never stored by the response cache.
            self.request.state.principal = principal.describe()
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
            return self._with_code(
                error, original.detail, _CODE_BY_STATUS.get(original.status, ErrorCode.BAD_USER_INPUT)
            )
        if original is not None and is_database_unavailable(original):
            return self._with_code(error, DATABASE_UNAVAILABLE, ErrorCode.SERVICE_UNAVAILABLE)
        if original is None:
            if error.extensions and "code" in error.extensions:
                return error
            # Raised by GraphQL itself: the document does not parse or does not fit the schema.
            return self._with_code(error, error.message, ErrorCode.GRAPHQL_VALIDATION_FAILED)
        if isinstance(original, GraphQLError) and original.extensions and "code" in original.extensions:
            return self._with_code(error, original.message, original.extensions["code"])
        if isinstance(original, GraphQLError):
            # GraphQL refused a variable's value for its type (`Float cannot represent non numeric value: nan`).
            return self._with_code(error, _with_hint(error.message), ErrorCode.BAD_USER_INPUT)
        log.error("unhandled error in GraphQL resolver", exc_info=original)
        return self._with_code(error, "An unexpected error occurred; it has been logged.", ErrorCode.INTERNAL)


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


class LimitedGraphQLRouter(GraphQLRouter):
    """Cancels an execution that outlives `timeout_s` and replaces an answer larger than `max_answer_bytes`,
    each with a coded error: the cost budget estimates, these two hold whatever the estimate missed."""

    def __init__(self, *args: Any, timeout_s: float, max_answer_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_s = timeout_s
        self.max_answer_bytes = max_answer_bytes

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await super().execute_single(*args, **kwargs)
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
