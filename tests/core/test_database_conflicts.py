"""A write that loses a race is retried from its savepoint; what still fails is a 409 or a 503, never a 500."""

import httpx
import pytest
from graphql import GraphQLError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.app import create_app
from service.core.db import WRITE_ATTEMPTS, SessionDep, retrying_conflicts
from service.core.errors import sqlstate
from service.core.graphql import ErrorCodes


def raising(state: str):
    """A statement PostgreSQL itself fails with this SQLSTATE."""
    return text(f"DO $$ BEGIN RAISE EXCEPTION 'lost a race' USING ERRCODE = '{state}'; END $$")


async def test_a_deadlock_is_retried_from_the_savepoint_and_earlier_work_stays(session):
    await session.execute(text("SELECT set_config('test.outer', 'kept', true)"))
    attempts = 0

    async def work() -> int:
        nonlocal attempts
        attempts += 1
        await session.execute(text("SELECT set_config('test.inner', :n, true)"), {"n": str(attempts)})
        if attempts < WRITE_ATTEMPTS:
            await session.execute(raising("40P01"))
        return attempts

    assert await retrying_conflicts(session, work) == WRITE_ATTEMPTS
    settings = await session.execute(text("SELECT current_setting('test.outer'), current_setting('test.inner')"))
    assert settings.one() == ("kept", str(WRITE_ATTEMPTS))
    await session.rollback()


@pytest.mark.parametrize(("state", "attempts"), [("40P01", WRITE_ATTEMPTS), ("40001", WRITE_ATTEMPTS), ("23505", 1)])
async def test_retries_are_bounded_and_only_for_transient_conflicts(session, state, attempts):
    tried = 0

    async def work() -> None:
        nonlocal tried
        tried += 1
        await session.execute(raising(state))

    with pytest.raises(DBAPIError) as raised:
        await retrying_conflicts(session, work)
    assert (sqlstate(raised.value), tried) == (state, attempts)
    await session.rollback()


@pytest.fixture
async def failing_app(settings):
    """The real app with one more route that fails in PostgreSQL with the SQLSTATE it is given."""
    app = create_app(settings)

    @app.post("/test/fail/{state}")
    async def fail(session: SessionDep, state: str) -> None:
        await session.execute(raising(state))

    async with app.router.lifespan_context(app):
        yield app


@pytest.mark.parametrize(
    ("state", "status", "code", "retry_after"),
    [("40P01", 503, "SERVICE_UNAVAILABLE", "1"), ("40001", 503, "SERVICE_UNAVAILABLE", "1"),
     ("23505", 409, "CONFLICT", None)],
)  # fmt: skip
async def test_conflicts_leave_as_problems_and_graphql_codes(failing_app, session, state, status, code, retry_after):
    transport = httpx.ASGITransport(app=failing_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(f"/test/fail/{state}")
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] and response.headers.get("retry-after") == retry_after

    with pytest.raises(DBAPIError) as raised:
        await session.execute(raising(state))
    await session.rollback()
    (classified,) = ErrorCodes()._process_errors([GraphQLError("failed", original_error=raised.value)])
    assert classified.extensions == {"code": code} and "lost a race" not in classified.message
