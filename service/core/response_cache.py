"""Whole-response cache for reads whose answer is the same for every caller, keyed by the database's snapshot.

The key is PostgreSQL's current snapshot (`xmin:xmax:in-progress xids`): two requests that see the same
snapshot see the same data, and any write, once committed, changes the snapshot of every later request
in every worker. An answer is stored under the snapshot taken *before* it was computed, so it is never
served to a request that started after a later commit. Nothing has to be bumped or locked on writes.

Cached: GET /api/v1/… JSON answers and GraphQL queries (not mutations; POST or GET, a GraphQL answer under the
media type the client's Accept chose), with or without a token, since they do not depend on who asks: a read
that does (a route with the `current_principal` dependency: admin reads, an agency's import template, the
reporting calendar) is passed by untouched when a token comes with it (without one it is a 401, which is never
stored), and no answer computed with a principal resolved is ever stored (a GraphQL field resolves one through
`Context.caller`).
"""

import hashlib
import json
from collections import OrderedDict
from urllib.parse import parse_qs

from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from graphql import OperationDefinitionNode, OperationType, parse, print_ast
from graphql.error import GraphQLError
from sqlalchemy import text
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core.auth import current_principal
from service.core.errors import Problem, problem_response
from service.core.graphql import GRAPHQL_RESPONSE_JSON, MAX_TOKENS, negotiated_media_type
from service.core.preconditions import none_match

HIT_HEADER = (b"x-cache", b"hit")
MISS_HEADER = (b"x-cache", b"miss")


class LruBytes:
    """Least-recently-used entries within a byte budget."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.entries: OrderedDict[tuple, tuple[int, list, bytes]] = OrderedDict()
        self.size = 0

    def get(self, key: tuple) -> tuple[int, list, bytes] | None:
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
        return entry

    def put(self, key: tuple, entry: tuple[int, list, bytes]) -> None:
        cost = len(entry[2]) + 512
        if cost > self.max_bytes // 4:
            return
        if key in self.entries:
            self.size -= len(self.entries.pop(key)[2]) + 512
        self.entries[key] = entry
        self.size += cost
        while self.size > self.max_bytes:
            _, (_, _, body) = self.entries.popitem(last=False)
            self.size -= len(body) + 512


def graphql_get_payload(query_string: bytes) -> dict:
    """GET /graphql's parameters as the JSON body a POST would carry (`variables` and `extensions` are JSON)."""
    params = {name: values[-1] for name, values in parse_qs(query_string.decode("latin-1")).items()}
    return params | {name: json.loads(params[name]) for name in ("variables", "extensions") if params.get(name)}


def graphql_read_key(body: bytes | dict) -> bytes | None:
    """The cache key of a GraphQL request that reads: its normalised document (whitespace and comments do
    not count), operation name and variables; None for a mutation or a request GraphQL would refuse. The body
    is already within the GraphQL body limit, and parsing stops at the token limit."""
    try:
        payload = json.loads(body) if isinstance(body, bytes) else body
        document = parse(payload["query"], no_location=True, max_tokens=MAX_TOKENS)
        name = payload.get("operationName")
        if not isinstance(name, str | None) or not isinstance(payload.get("extensions"), dict | None):
            return None
        variables = json.dumps(payload.get("variables"), sort_keys=True, separators=(",", ":"))
    except (ValueError, KeyError, TypeError, AttributeError, GraphQLError, RecursionError):
        return None  # GraphQL answers it, with the reason
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [d for d in operations if name is None or (d.name and d.name.value == name)]
    if len(chosen) != 1 or chosen[0].operation != OperationType.QUERY:
        return None
    return hashlib.sha256("\0".join((print_ast(document), str(name), variables)).encode()).digest()


def reads_the_principal(dependant: Dependant) -> bool:
    """Whether a route's answer can depend on its caller: it resolves the caller's principal."""
    pending = [dependant]
    while pending:
        current = pending.pop()
        if current.call is current_principal:
            return True
        pending += current.dependencies
    return False


class ResponseCacheMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.cache = LruBytes(max_bytes)
        self._reads_of_the_caller: list | None = None  # the GET routes that resolve a principal, found once

    def _depends_on_caller(self, scope: Scope) -> bool:
        """Whether this GET goes to a route that reads the caller's principal (matched as the router will)."""
        if self._reads_of_the_caller is None:
            self._reads_of_the_caller = [
                route
                for route in iter_route_contexts(scope["app"].router.routes)
                if "GET" in (route.methods or ())
                and (dependant := getattr(route, "dependant", None)) is not None
                and reads_the_principal(dependant)
            ]
        return any(route.matches(scope)[0] == Match.FULL for route in self._reads_of_the_caller)

    async def _version(self, scope: Scope) -> str | None:
        engine = scope["app"].state.engine
        try:
            async with engine.connect() as connection:
                return (await connection.execute(text("SELECT pg_current_snapshot()::text"))).scalar_one()
        except Exception:  # the database is away: let the app answer (with its 503)
            return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.cache.max_bytes:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        method, path = scope["method"], scope["path"]
        body = b""
        if method == "GET" and path.startswith("/api/v1/"):
            if b"authorization" in headers and self._depends_on_caller(scope):
                await self.app(scope, receive, send)
                return
            key_base: tuple = ("GET", path, scope.get("query_string", b""))
        elif method == "GET" and path == "/graphql":
            try:
                document_key = graphql_read_key(graphql_get_payload(scope.get("query_string", b"")))
            except (ValueError, RecursionError):
                document_key = None
            if document_key is None:  # GraphiQL's page, a mutation, or a request GraphQL refuses with its reason
                await self.app(scope, receive, send)
                return
            key_base = ("GET", path, _media_type(headers), document_key)
        elif method == "POST" and path == "/graphql" and _is_json(headers):
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            body = b"".join(chunks)
            document_key = graphql_read_key(body)
            if document_key is None:
                await self.app(scope, _replay(body), send)
                return
            key_base = ("POST", path, _media_type(headers), document_key)
        else:
            await self.app(scope, receive, send)
            return

        version = await self._version(scope)
        if version is None:
            await self.app(scope, _replay(body) if body else receive, send)
            return
        key = (version, *key_base)
        hit = self.cache.get(key)
        if hit is not None:
            await self._send_cached(hit, headers.get(b"if-none-match"), scope, receive, send)
            return
        await self._fill(key, scope, _replay(body) if body else receive, send)

    async def _send_cached(
        self, entry: tuple[int, list, bytes], if_none_match: bytes | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        status, response_headers, content = entry
        etag = next((v.decode() for k, v in response_headers if k == b"etag"), None)
        try:
            fresh = bool(etag and if_none_match and none_match(if_none_match.decode("latin-1"), etag))
        except Problem as problem:  # a malformed If-None-Match: the same 400 the route would send
            await problem_response(problem.status, problem.detail)(scope, receive, send)
            return
        if fresh:
            kept = [(k, v) for k, v in response_headers if k in (b"etag", b"cache-control")]
            await send({"type": "http.response.start", "status": 304, "headers": kept + [HIT_HEADER]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": status, "headers": response_headers + [HIT_HEADER]})
        await send({"type": "http.response.body", "body": content})

    async def _fill(self, key: tuple, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {}
        parts: list[bytes] | None = None  # None: this answer is not kept, so nothing is buffered

        async def capture(message: Message) -> None:
            nonlocal start, parts
            if message["type"] == "http.response.start":
                start = message
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if message["status"] == 200 and content_type.startswith((b"application/json", _GRAPHQL_RESPONSE)):
                    parts = []
                message = {**message, "headers": list(message.get("headers", [])) + [MISS_HEADER]}
            elif message["type"] == "http.response.body" and parts is not None:
                parts.append(message.get("body", b""))
                if not message.get("more_body"):
                    self._store(key, scope, start, b"".join(parts))
            await send(message)

        await self.app(scope, receive, capture)

    def _store(self, key: tuple, scope: Scope, start: Message, content: bytes) -> None:
        if scope.get("state", {}).get("principal") is not None:
            return  # computed for one caller (current_principal names it for the access log)
        response_headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        if key[2] == "/graphql" and b'"errors"' in content:
            return
        response_headers.append((b"content-length", str(len(content)).encode()))
        self.cache.put(key, (200, response_headers, content))


_GRAPHQL_RESPONSE = GRAPHQL_RESPONSE_JSON.encode()


def _media_type(headers: dict[bytes, bytes]) -> str:
    accept = headers.get(b"accept")
    return negotiated_media_type(accept.decode("latin-1") if accept is not None else None)


def _is_json(headers: dict[bytes, bytes]) -> bool:
    """A POST body GraphQL reads (any other is refused with 415, never answered from the cache)."""
    return headers.get(b"content-type", b"").split(b";")[0].strip().lower() == b"application/json"


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
