"""Helpers the tests share."""

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page

ROOT = Path(__file__).resolve().parents[1]


async def graphql(client: httpx.AsyncClient, query: str, *, uncached: bool = False, **variables) -> dict:
    """POST a GraphQL query; `uncached` adds a unique (unused) variable so the response cache cannot answer it:
    the cache keys on the normalised document, so a comment would not do."""
    if uncached:
        variables["cacheBuster"] = str(uuid.uuid4())
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def sources_dir() -> Path | None:
    """The folder of the source documents: `SOURCES_DIR`, else `../shared/seeds` beside the checkout if it is there."""
    if configured := os.environ.get("SOURCES_DIR"):
        return Path(configured)
    default = ROOT.parent / "shared" / "seeds"
    return default if default.is_dir() else None


@cache
def seed_text(prefix: str) -> str:
    """The text of the source document whose file name starts with `prefix` (e.g. "000").

    Only the tests that compare data/ with the documents call this. Without the documents they are
    skipped, or fail where SOURCES_REQUIRED=1 says the documents must be there (CI)."""
    directory = sources_dir()
    if directory is None or not directory.is_dir():
        reason = (
            f"the source documents are not at {directory or ROOT.parent / 'shared' / 'seeds'}: to compare data/ "
            "with them, set SOURCES_DIR to the folder holding 000_*.txt … 004_*.txt"
        )
        if os.environ.get("SOURCES_REQUIRED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    (path,) = directory.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def indicator_id(client: httpx.AsyncClient, code: str) -> str:
    """The id of the seeded sector strategy's indicator with this code."""
    response = await client.get("/api/v1/indicators", params={"limit": 500})
    (indicator,) = [i for i in response.json()["items"] if i["code"] == code]
    return indicator["id"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served(env: dict[str, str]) -> Iterator[str]:
    """`python -m service serve` (uvicorn on 127.0.0.1) with this environment until the block ends; its base URL."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the service did not start: " + server.stderr.read1().decode(errors="replace"))
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=10)


def assert_problem(response: httpx.Response, status: int, *fragments: str) -> None:
    """An RFC 9457 problem with this status whose detail says each fragment."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    for fragment in fragments:
        assert fragment in response.json()["detail"]


async def post_measurement(client: httpx.AsyncClient, code: str, token: str, body: dict, **headers) -> httpx.Response:
    """POST a measurement of the seeded indicator with this code."""
    ind = await indicator_id(client, code)
    return await client.post(f"/api/v1/indicators/{ind}/measurements", json=body, headers=bearer(token) | headers)


async def if_match(client: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """`headers` plus If-Match with the ETag a GET of `path` sends now: what an admin edit of it must send."""
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return (headers or {}) | {"If-Match": response.headers["etag"]}


class Offline:
    """A page whose requests may go to the service (and an identity provider) only; what the service's pages
    tried elsewhere, and what their CSP refused."""

    def __init__(self, page: Page, base_url: str, provider_url: str | None = None) -> None:
        self.page, self.base_url = page, base_url
        self.reachable = (base_url + "/",) + ((provider_url + "/",) if provider_url else ())
        self.elsewhere: list[str] = []
        self.refused_own: list[str] = []
        page.on("console", self._console)

    async def route(self, route) -> None:
        if route.request.url.startswith(self.reachable):
            await route.continue_()
            return
        if route.request.frame.url.startswith(self.base_url + "/"):  # the provider's own pages are not ours
            self.elsewhere.append(route.request.url)
        await route.abort("internetdisconnected")

    def _console(self, message) -> None:
        # A CSP refusal of the service's own file would break the page; refusing another origin is the point.
        text = message.text
        if "Content Security Policy" in text and not re.search(r"'(https?|wss?)://(?!127\.0\.0\.1)", text):
            self.refused_own.append(text)
