"""Alembic is the only way the schema is made: it goes up, down and up again, and matches the models."""

import asyncio
import uuid

import asyncpg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import service.models  # noqa: F401  (every table on the metadata)
from service.__main__ import alembic_config


async def _tables(url) -> set[str]:
    connection = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database=url.database)
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row["tablename"] for row in rows}
    finally:
        await connection.close()


async def test_upgrade_downgrade_upgrade_and_no_pending_diff(database_url):
    url = make_url(database_url).set(database=f"interior_migrations_{uuid.uuid4().hex[:8]}")
    admin = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database="postgres")
    await admin.execute(f'CREATE DATABASE "{url.database}"')
    rendered = url.render_as_string(hide_password=False)
    config = alembic_config(rendered)
    try:
        await asyncio.to_thread(command.upgrade, config, "head")
        assert {"organization", "measurement", "audit_entry"} <= await _tables(url)
        await asyncio.to_thread(command.downgrade, config, "base")
        assert await _tables(url) == {"alembic_version"}
        await asyncio.to_thread(command.upgrade, config, "head")

        engine = create_async_engine(rendered)
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), SQLModel.metadata
                )
            )
        await engine.dispose()
        assert diff == [], diff
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        await admin.close()
