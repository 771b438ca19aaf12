"""One ASGI middleware for what every request shares: request id, body size limit, write rate limits,
security headers, the JSON access log and request metrics."""

import json
import logging
import re
import time
import uuid
from http import HTTPStatus
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core import metrics
from service.core.errors import PROBLEM_JSON, allowed_methods, unexpected_problem
from service.core.limits import RateLimiter
from service.settings import Settings

access_log = logging.getLogger("service.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# Responses are data and need nothing, except the explorers' HTML pages (GraphiQL, Swagger UI, ReDoc): they load
# scripts and styles from this service only; their libraries set inline styles, use data: fonts and images,
# and ReDoc starts its search worker from a blob.
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


def explorer_csp(identity_providers: list[str]) -> tuple[bytes, bytes]:
    """The explorer pages' policy; they may also reach the configured identity providers, whose token endpoint
    the sign-in script posts the authorization code to."""
    origins = dict.fromkeys(f"{p.scheme}://{p.netloc}" for p in map(urlsplit, identity_providers) if p.netloc)
    connect = " ".join(["'self'", *origins])
    return (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        b"font-src 'self' data:; connect-src " + connect.encode() + b"; worker-src 'self' blob:; base-uri 'none'; "
        b"form-action 'none'; frame-ancestors 'none'",
    )


class TooLarge(Exception):
    pass


def _problem(status: int, detail: str, request_id: str, extra_headers: list[tuple[bytes, bytes]] = ()) -> tuple:
    title = HTTPStatus(status).phrase
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
               (b"x-request-id", request_id.encode()), *extra_headers]  # fmt: skip
    return body, headers


class RequestMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.max_graphql_body = settings.graphql_max_body_bytes
        # With CORS on, an answer differs by the caller's Origin: say so on every answer, with or without one.
        self.vary_origin = bool(settings.cors_origins)
        self.per_address = RateLimiter(settings.write_rate_per_address)
        self.explorer_csp = explorer_csp(settings.oidc_issuers if settings.oidc_client_id else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        given_id = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given_id if _REQUEST_ID.match(given_id) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        method, path = scope["method"], scope["path"]
        status = {"code": 500, "started": False}

        plain_error: dict = {}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["started"] = message["status"], True
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if message["status"] >= 400 and content_type.startswith(b"text/plain"):
                    # Strawberry answers a malformed HTTP request with plain text; say it as a problem.
                    plain_error["status"], plain_error["body"] = message["status"], b""
                    return
                csp = self.explorer_csp if content_type.startswith(b"text/html") else API_CSP
                extra = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS, csp]
                if self.vary_origin and not any(
                    k.lower() == b"vary" and b"origin" in v.lower() for k, v in message.get("headers", [])
                ):
                    extra.append((b"vary", b"Origin"))
                message["headers"] = list(message.get("headers", [])) + extra
            elif plain_error:
                plain_error["body"] += message.get("body", b"")
                if not message.get("more_body"):
                    detail = plain_error["body"].decode("utf-8", "replace") or "The request is not valid."
                    await reply(plain_error["status"], detail)
                return
            await send(message)

        async def reply(code: int, detail: str, extra: list[tuple[bytes, bytes]] = ()) -> None:
            body, response_headers = _problem(code, detail, request_id, extra)
            status["code"], status["started"] = code, True
            vary = [(b"vary", b"Origin")] if self.vary_origin else []
            answer_headers = response_headers + SECURITY_HEADERS + [API_CSP] + vary
            await send({"type": "http.response.start", "status": code, "headers": answer_headers})
            await send({"type": "http.response.body", "body": body})

        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        # A GraphQL document is bounded tighter than other bodies, before the response cache or GraphQL parses it.
        max_body = self.max_graphql_body if path.startswith("/graphql") else self.max_body
        too_large = f"The request body is larger than {max_body} bytes."
        try:
            if declared > max_body:
                await reply(413, too_large)
                return
            if self._is_write(method, path, headers) and (wait := self._rate_limited(scope)):
                await reply(429, "Too many writes; slow down.", [(b"retry-after", str(wait).encode())])
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > max_body:
                        raise TooLarge
                return message

            try:
                await self.app(scope, limited_receive, send_with_headers)
            except TooLarge:
                await reply(413, too_large)
            except Exception as error:
                if status["started"]:
                    raise  # half an answer is out: the server can only close the connection
                problem = unexpected_problem(error)
                extra = [(name.lower().encode(), value.encode()) for name, value in (problem.headers or {}).items()]
                await reply(problem.status, problem.detail, extra)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or ("/graphql" if path.startswith("/graphql") else "unmatched")
            metrics.observe_request(method, template, status["code"], elapsed)
            if (engine := getattr(scope["app"].state, "engine", None)) is not None:
                metrics.observe_pool(engine.pool)
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": method,
                    "path": path,
                    "status": status["code"],
                    "duration_ms": round(elapsed * 1000, 2),
                    "principal": scope["state"].get("principal"),
                },
            )

    @staticmethod
    def _is_write(method: str, path: str, headers: dict[bytes, bytes]) -> bool:
        """REST writes; on /graphql only requests with a token count (mutations need one, reads do not)."""
        if path.startswith("/graphql"):
            return method == "POST" and b"authorization" in headers
        return method in _WRITES

    def _rate_limited(self, scope: Scope) -> int:
        """The per-address limit, before anything else runs; the per-principal one counts once the token
        is resolved (core/auth/resolver.py), each GraphQL mutation field as one write."""
        client = (scope.get("client") or ("unknown", 0))[0]
        return self.per_address.retry_after(f"addr:{client}", time.monotonic())


class MethodsMiddleware:
    """HEAD is answered as GET without the body; OPTIONS (other than a CORS preflight, which the CORS
    middleware answers first) with the methods the path is really served with."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        allowed = allowed_methods(scope["app"], scope["path"])
        if scope["method"] == "OPTIONS" and allowed:
            headers = [(b"allow", ", ".join(allowed).encode()), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["method"] == "HEAD" and "GET" in allowed:

            async def without_body(message: Message) -> None:
                if message["type"] == "http.response.body":
                    message = {**message, "body": b""}
                await send(message)

            await self.app({**scope, "method": "GET"}, receive, without_body)
            return
        await self.app(scope, receive, send)


class JsonFormatter(logging.Formatter):
    """One JSON object a line, with the access log's fields; never the token (it is not logged anywhere)."""

    FIELDS = ("request_id", "method", "path", "status", "duration_ms", "principal")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {field: getattr(record, field) for field in self.FIELDS if hasattr(record, field)}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
