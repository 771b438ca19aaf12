"""The server as `make run`, the Dockerfile and the benchmark start it (`python -m service serve`) bounds
what a client can hold: header size (431), time to send headers and body (408), idle connections.
Driven over raw sockets, since an HTTP client library would not send such requests."""

import os
import select
import socket

import pytest
from sqlalchemy.engine import make_url

from tests.helpers import served

READ_TIMEOUT_S = 1  # the server's header, body and keep-alive limits in this test


@pytest.fixture(scope="module")
def served_port(database_url: str):
    env = os.environ | {
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "warning",
        "SERVER_HEADER_TIMEOUT_S": str(READ_TIMEOUT_S),
        "SERVER_BODY_TIMEOUT_S": str(READ_TIMEOUT_S),
        "SERVER_KEEPALIVE_S": str(READ_TIMEOUT_S),
    }
    with served(env) as base_url:
        yield make_url(base_url).port


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10 * READ_TIMEOUT_S)


def _read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (the socket timeout fails the test)."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def test_headers_over_the_limit_get_431_and_a_closed_connection(served_port):
    with _connect(served_port) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 20_000 + b"\r\n\r\n")
        answer = _read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"content-type: application/problem+json" in answer
    assert b"exceed 16384 bytes" in answer


def test_headers_within_the_limit_are_served(served_port):
    with _connect(served_port) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 8_000 + b"\r\n\r\n")
        assert connection.recv(65536).startswith(b"HTTP/1.1 200 ")


def test_a_client_sending_headers_a_byte_at_a_time_is_cut_off(served_port):
    with _connect(served_port) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\n")
        # Keep trickling well past the header time limit: the server must answer 408 and close.
        for _ in range(int(4 * READ_TIMEOUT_S / 0.2)):
            readable, _, _ = select.select([connection], [], [], 0.2)
            if readable:
                break
            connection.sendall(b"X")
        answer = _read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"did not arrive within 1 s" in answer


def test_a_connection_that_sends_nothing_is_closed(served_port):
    with _connect(served_port) as connection:
        answer = _read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_body_that_stops_arriving_gets_408(served_port):
    with _connect(served_port) as connection:
        connection.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"query": '
        )
        answer = _read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"body did not arrive" in answer


def test_an_idle_keep_alive_connection_is_closed_after_its_answer(served_port):
    with _connect(served_port) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.count(b"HTTP/1.1") == 1
