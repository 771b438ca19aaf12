"""One ASGI middleware for what every request shares: request id, body size limit, write rate limits,
security headers, the JSON access log and request metrics."""

import json
import logging
import re
import time
import uuid
from collections import deque
from http import HTTPStatus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core.auth import hash_token
from service.core.errors import PROBLEM_JSON
from service.core.metrics import METRICS
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
EXPLORER_CSP = (
    b"content-security-policy",
    b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    b"font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; "
    b"frame-ancestors 'none'",
)


class TooLarge(Exception):
    pass


class RateLimiter:
    """Sliding one-minute windows per key, in this process's memory (per worker)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.hits: dict[str, deque[float]] = {}

    def retry_after(self, key: str, now: float) -> int:
        """0 when the call may go ahead (and is counted), else seconds to wait."""
        if not self.per_minute:
            return 0
        window = self.hits.setdefault(key, deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return max(1, int(window[0] + 60 - now) + 1)
        window.append(now)
        if len(self.hits) > 100_000:  # bounded memory: forget idle keys
            self.hits = {k: v for k, v in self.hits.items() if v and v[-1] > now - 60}
        return 0


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
        self.per_token = RateLimiter(settings.write_rate_per_token)
        self.per_address = RateLimiter(settings.write_rate_per_address)

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
        status = {"code": 500}

        plain_error: dict = {}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if message["status"] >= 400 and content_type.startswith(b"text/plain"):
                    # Strawberry answers a malformed HTTP request with plain text; say it as a problem.
                    plain_error["status"], plain_error["body"] = message["status"], b""
                    return
                csp = EXPLORER_CSP if content_type.startswith(b"text/html") else API_CSP
                extra = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS, csp]
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
            status["code"] = code
            await send({"type": "http.response.start", "status": code, "headers": response_headers + SECURITY_HEADERS})
            await send({"type": "http.response.body", "body": body})

        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        try:
            if declared > self.max_body:
                await reply(413, f"The request body is larger than {self.max_body} bytes.")
                return
            if self._is_write(method, path, headers) and (wait := self._rate_limited(scope, headers)):
                await reply(429, "Too many writes; slow down.", [(b"retry-after", str(wait).encode())])
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body:
                        raise TooLarge
                return message

            try:
                await self.app(scope, limited_receive, send_with_headers)
            except TooLarge:
                await reply(413, f"The request body is larger than {self.max_body} bytes.")
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or ("/graphql" if path.startswith("/graphql") else "unmatched")
            METRICS.observe_request(method, template, status["code"], elapsed)
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

    def _rate_limited(self, scope: Scope, headers: dict[bytes, bytes]) -> int:
        now = time.monotonic()
        client = (scope.get("client") or ("unknown", 0))[0]
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        waits = [self.per_address.retry_after(f"addr:{client}", now)]
        if authorization:
            waits.append(self.per_token.retry_after("token:" + hash_token(authorization), now))
        return max(waits)


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
