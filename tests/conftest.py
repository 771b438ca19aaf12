"""One throwaway database per test session, migrated by Alembic and seeded; the real ASGI app over httpx."""

import asyncio
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import asyncpg
import httpx
import pytest
import uvicorn
from alembic import command
from playwright.async_api import Browser, async_playwright
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from service.__main__ import alembic_config
from service.app import create_app
from service.core.db import create_engine, create_sessionmaker
from service.seed.loader import load_all
from service.settings import Settings


async def _admin(url) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database="postgres"
    )


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    base = os.environ.get("DATABASE_URL")
    if not base:
        pytest.fail("DATABASE_URL is not set: run the suite with `make test`, which starts PostgreSQL")
    url = make_url(base).set(database=f"interior_test_{uuid.uuid4().hex[:12]}")
    admin = await _admin(url)
    await admin.execute(f'CREATE DATABASE "{url.database}"')
    await admin.close()
    rendered = url.render_as_string(hide_password=False)
    await asyncio.to_thread(command.upgrade, alembic_config(rendered), "head")
    yield rendered
    admin = await _admin(url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
async def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture(scope="session")
async def sessionmaker(settings: Settings, seeded: None):
    engine = create_engine(settings)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
async def seeded(settings: Settings) -> None:
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session:
        await load_all(session)
    await engine.dispose()


@pytest.fixture
async def session(sessionmaker) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture(scope="session")
async def app(settings: Settings, seeded: None):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()


@pytest.fixture
def sql_statements(app) -> Iterator[StatementCounter]:
    """Counts the SQL statements the app sends while the test runs."""
    counter = StatementCounter()
    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture(scope="session")
async def tokens(sessionmaker) -> dict[str, str]:
    """Bearer tokens by name: `admin`, an agency token per institution code, and a `revoked` one."""
    from service.core.auth import Role, create_token, revoke_token
    from service.registry.repository import get_institution_by_code

    issued: dict[str, str] = {}
    async with sessionmaker() as session:
        _, issued["admin"] = await create_token(session, Role.admin, None, None, "tests")
        for code in ("VP", "VRS", "PMLP", "VUGD", "IeM IC"):
            institution = await get_institution_by_code(session, code)
            _, issued[code] = await create_token(session, Role.agency, institution.id, code, "tests")
        row, issued["revoked"] = await create_token(session, Role.admin, None, None, "tests")
        await revoke_token(session, row.id)
        await session.commit()
    return issued


@pytest.fixture(scope="session")
def served_url(settings, seeded) -> Iterator[str]:
    """The app under a real uvicorn on 127.0.0.1, in a thread of its own."""
    with serving(settings) as url:
        yield url


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The app with these settings under a real uvicorn on 127.0.0.1, in a thread of its own, until the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), log_level="warning", lifespan="on", ws_max_size=settings.graphql_max_body_bytes
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail("Chromium is not installed; .ci/run installs it (apt-get install chromium)")
    pytest.skip("Chromium is not installed: `apt-get install chromium` runs these browser tests")


@pytest.fixture(scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # --no-sandbox: Chromium's sandbox refuses to start as root, which CI is.
        launched = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        await launched.close()
