"""uvicorn's httptools protocol with the limits uvicorn leaves out: header size, header and body read time.

uvicorn (the stack's server) has a keep-alive timeout and a concurrency limit, but with httptools it
accepts headers of any size and waits for ever on a client that sends its headers or body a byte at
a time, or opens a connection and sends nothing. This subclass adds those three bounds, answering
431 and 408 the way RFC 9110 names them, and keeps httptools' speed (h11 would bound the header
size alone, at a third of the parsing speed).
"""

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.settings import get_settings


def _problem_response(status: int, reason: str, detail: str) -> bytes:
    """An RFC 9457 problem written before the app sees the request, so the app's handlers cannot."""
    body = json.dumps({"type": "about:blank", "title": reason, "status": status, "detail": detail}).encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.max_header_bytes = settings.server_max_header_bytes
        self.header_timeout = settings.server_header_timeout_s
        self.body_timeout = settings.server_body_timeout_s
        self.header_bytes = 0
        self.awaiting_headers = True
        self.read_deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, status: int, reason: str, text: str) -> None:
        self._disarm()
        self.read_deadline = self.loop.call_later(seconds, self._refuse, status, reason, text)

    def _disarm(self) -> None:
        if self.read_deadline is not None:
            self.read_deadline.cancel()
            self.read_deadline = None

    def _refuse(self, status: int, reason: str, text: str) -> None:
        self.read_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(_problem_response(status, reason, text))
        self.transport.close()

    def _arm_header_deadline(self) -> None:
        self._arm(
            self.header_timeout,
            408,
            "Request Timeout",
            f"The request headers did not arrive within {self.header_timeout:g} s; send them at once.",
        )

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.awaiting_headers:
            # A keep-alive connection's next request starts its header clock with its first byte.
            if self.read_deadline is None:
                self._arm_header_deadline()
            # Feed the parser no more than the header allowance: past it, headers still incomplete are
            # refused before they are buffered (httptools would keep growing one header value).
            allowance = self.max_header_bytes - self.header_bytes
            if len(data) > allowance:
                head, data = data[:allowance], data[allowance:]
                self.header_bytes += len(head)
                super().data_received(head)
                if self.transport.is_closing():
                    return
                if self.awaiting_headers and self.header_bytes >= self.max_header_bytes:
                    self._refuse_large_headers()
                    return
            else:
                self.header_bytes += len(data)
        super().data_received(data)

    def _refuse_large_headers(self) -> None:
        self._disarm()
        text = f"The request headers exceed {self.max_header_bytes} bytes; send fewer or shorter headers."
        self.transport.write(_problem_response(431, "Request Header Fields Too Large", text))
        self.transport.close()

    def on_headers_complete(self) -> None:
        self.awaiting_headers = False
        self._arm(
            self.body_timeout,
            408,
            "Request Timeout",
            f"The request body did not arrive within {self.body_timeout:g} s; send it at once.",
        )
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self.awaiting_headers = True
        self.header_bytes = 0
        super().on_message_complete()
