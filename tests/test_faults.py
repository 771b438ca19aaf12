"""The database goes away mid-traffic and comes back: 503 while it is down, no restart needed after,
nothing acknowledged lost, nothing refused half-written. Uses a PostgreSQL cluster of its own."""

import asyncio
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from alembic import command
from sqlalchemy.engine import make_url

from service.__main__ import alembic_config
from service.app import create_app
from service.core.auth import Role, create_token
from service.core.db import create_engine, create_sessionmaker
from service.seed.loader import load_all
from service.settings import Settings
from tests.helpers import bearer

PG = Path(__file__).resolve().parents[1] / "scripts" / "pg.sh"


def _pg(base: str, *args: str) -> str:
    result = subprocess.run(
        [str(PG), *args], env=os.environ | {"PG_BASE": base}, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


@pytest.fixture
async def own_cluster():
    base = f"/tmp/interior-fault-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(_pg, base, "start")
    try:
        url = make_url(await asyncio.to_thread(_pg, base, "url", "interior_faults"))
        admin = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database="postgres")
        await admin.execute(f'CREATE DATABASE "{url.database}"')
        await admin.close()
        rendered = url.render_as_string(hide_password=False)
        await asyncio.to_thread(command.upgrade, alembic_config(rendered), "head")
        yield base, rendered
    finally:
        await asyncio.to_thread(_pg, base, "destroy")


async def _count(url: str, table: str) -> int:
    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, database=parsed.database
    )
    try:
        return await connection.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await connection.close()


async def test_database_outage_and_recovery(own_cluster):
    base, url = own_cluster
    settings = Settings(database_url=url, db_connect_timeout_s=2)
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session:
        await load_all(session)
        _, token = await create_token(session, Role.admin, None, None, "faults")
        await session.commit()
    await engine.dispose()

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            indicators = (await client.get("/api/v1/indicators", params={"limit": 40})).json()["items"]
            acknowledged = []

            async def post(indicator: dict, year: int) -> httpx.Response:
                return await client.post(
                    f"/api/v1/indicators/{indicator['id']}/measurements",
                    json={"year": year, "value": 1 if indicator["targets"][0]["kind"] != "pair" else [1, 1],
                          "institution": indicator["baseline"][0]["institution"]["code"]
                          if indicator["baseline"][0]["institution"] else None},
                    headers=bearer(token),
                )  # fmt: skip

            plain = [i for i in indicators if i["baseline"][0]["kind"] in ("number", "percent")]
            for indicator in plain[:3]:
                response = await post(indicator, 2023)
                assert response.status_code == 201, response.text
                acknowledged.append(response.json()["id"])

            await asyncio.to_thread(_pg, base, "stop")
            started = time.monotonic()
            down = await client.get("/api/v1/organizations")
            assert down.status_code == 503 and down.headers["retry-after"]
            assert down.headers["content-type"] == "application/problem+json"
            assert (await client.get("/readyz")).status_code == 503
            refused = await post(plain[3], 2023)
            assert refused.status_code == 503
            gql = (await client.post("/graphql", json={"query": "{ institutions { totalCount } }"})).json()
            assert gql["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert time.monotonic() - started < 20  # answered, not hung

            await asyncio.to_thread(_pg, base, "start")
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/api/v1/organizations")).status_code == 200
            after = await post(plain[4], 2023)
            assert after.status_code == 201
            acknowledged.append(after.json()["id"])

    assert await _count(url, "measurement") == len(acknowledged) == 4


async def test_a_database_shutting_down_is_503_not_500(own_cluster):
    """A smart shutdown refuses new connections with "the database system is shutting down" (57P03) while
    sessions already open finish: the client should retry, so 503 / SERVICE_UNAVAILABLE."""
    base, url = own_cluster
    app = create_app(Settings(database_url=url, db_connect_timeout_s=2))
    parsed = make_url(url)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            assert (await client.get("/readyz")).status_code == 200
            # An open session keeps the smart shutdown from completing; new connections are refused meanwhile.
            holder = await asyncpg.connect(
                host=parsed.host, port=parsed.port, user=parsed.username, database="postgres"
            )
            try:
                postmaster = int((Path(base) / "pg" / "postmaster.pid").read_text().split()[0])
                os.kill(postmaster, signal.SIGTERM)
                for _ in range(100):
                    try:
                        await (await asyncpg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                                                     database="postgres")).close()  # fmt: skip
                    except asyncpg.CannotConnectNowError:
                        break
                    await asyncio.sleep(0.05)
                await app.state.engine.dispose()  # the app's next request needs a new connection

                rest = await client.get("/api/v1/organizations")
                assert rest.status_code == 503, rest.text
                assert rest.headers["retry-after"]
                gql = (await client.post("/graphql", json={"query": "{ institutions { totalCount } }"})).json()
                assert gql["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE", gql
            finally:
                await holder.close()
    # With its last session gone the server completes the smart shutdown by itself; wait for that, so that the
    # fixture's teardown does not race a server that is stopping.
    pid_file = Path(base) / "pg" / "postmaster.pid"
    for _ in range(300):
        if not pid_file.exists():
            break
        await asyncio.sleep(0.1)
