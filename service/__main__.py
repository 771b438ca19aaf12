"""Command line: serve, deliver, migrate, seed, createdb, tokens, export-schema."""

import argparse
import asyncio
import json
import logging
from pathlib import Path

from service.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]
START_HINT = "start it with `make run` or `make db-start`, or set DATABASE_URL"


def alembic_config(database_url: str | None = None):
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def migrate(revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(), revision)


async def seed(data_dir: Path):
    from service.core.db import create_engine, create_sessionmaker
    from service.seed.loader import load_all

    engine = create_engine(get_settings())
    try:
        async with create_sessionmaker(engine)() as session:
            return await load_all(session, data_dir)
    finally:
        await engine.dispose()


async def tokens(args: argparse.Namespace) -> None:
    """Issue, revoke and list API tokens. A new token is printed once; only its hash is kept."""
    import uuid

    from sqlalchemy import select

    from service.core.auth import ApiToken, Role, create_token, revoke_token
    from service.core.db import create_engine, create_sessionmaker
    from service.registry.repository import get_institution_by_code

    engine = create_engine(get_settings())
    try:
        async with create_sessionmaker(engine)() as session:
            if args.action == "create":
                role = Role(args.role)
                institution = None
                if args.institution:
                    institution = await get_institution_by_code(session, args.institution)
                    if institution is None:
                        raise SystemExit(f"no institution with code {args.institution!r}")
                if role == Role.agency and institution is None:
                    raise SystemExit("an agency token needs --institution")
                row, token = await create_token(
                    session,
                    role,
                    institution.id if institution else None,
                    institution.code if institution else None,
                    args.label,
                )
                await session.commit()
                print(f"token id: {row.id}\n{token}")
            elif args.action == "revoke":
                if not await revoke_token(session, uuid.UUID(args.id)):
                    raise SystemExit(f"no active token {args.id}")
                await session.commit()
                print(f"revoked {args.id}")
            else:
                for row in await session.scalars(select(ApiToken).order_by(ApiToken.created_at)):
                    state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
                    print(f"{row.id}  {row.role:<6}  {row.institution_code or '-':<8}  {state}  {row.label or ''}")
    finally:
        await engine.dispose()


async def createdb() -> None:
    """Create the database named in DATABASE_URL if it does not exist (local development and tests)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(get_settings().database_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database="postgres"
    )
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", url.database)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{url.database}"')
    finally:
        await connection.close()


def require_database(settings: Settings, *, database: bool = True, migrated: bool = False) -> None:
    """Exit with one line that says what to do when the database cannot serve the command, not a traceback."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    where = f"{url.host or 'localhost'}:{url.port or 5432}"

    async def probe() -> str | None:
        connection = await asyncpg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            database=url.database if database else "postgres",
            timeout=settings.db_connect_timeout_s,
        )
        try:
            if migrated and await connection.fetchval("SELECT to_regclass('alembic_version')") is None:
                return (
                    f"the database {url.database!r} at {where} has no tables yet: "
                    "`make run` migrates and seeds it, or `python -m service migrate`"
                )
            return None
        finally:
            await connection.close()

    try:
        problem = asyncio.run(probe())
    except asyncpg.InvalidCatalogNameError:
        problem = (
            f"PostgreSQL at {where} has no database {url.database!r}: "
            "`make run` creates it, or `python -m service createdb`"
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        problem = f"cannot reach PostgreSQL at {where} ({reason}): {START_HINT}"
    if problem:
        raise SystemExit(problem)


def export_schema(out_dir: Path) -> None:
    from strawberry.printer import print_schema

    from service.app import create_app
    from service.graphql import schema

    out_dir.mkdir(parents=True, exist_ok=True)
    openapi = create_app().openapi()
    (out_dir / "openapi.json").write_text(json.dumps(openapi, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / "schema.graphql").write_text(print_schema(schema) + "\n", encoding="utf-8")


def prepare_multiprocess_metrics(workers: int) -> None:
    """Several workers share their metrics through files in PROMETHEUS_MULTIPROC_DIR (a fresh temporary folder
    unless one is given); it is emptied at start, as prometheus_client requires, so no stale sample survives."""
    import os
    import tempfile

    if workers == 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return  # one process: the metrics stay in its memory
    folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="interior-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the API with uvicorn")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--workers", type=int, default=1)
    commands.add_parser("deliver", help="send the queued webhook deliveries (run beside serve; several may run)")
    commands.add_parser("migrate", help="apply Alembic migrations up to head")
    seed_cmd = commands.add_parser(
        "seed", help="apply the seed data files, keeping every row an admin changed (reported as a conflict)"
    )
    seed_cmd.add_argument("--data-dir", type=Path, default=ROOT / "data")
    commands.add_parser("createdb", help="create the configured database if it is missing")
    tokens_cmd = commands.add_parser("tokens", help="issue, revoke and list API tokens")
    token_actions = tokens_cmd.add_subparsers(dest="action", required=True)
    create_cmd = token_actions.add_parser("create", help="issue a token (printed once)")
    create_cmd.add_argument("--role", choices=["agency", "admin"], required=True)
    create_cmd.add_argument("--institution", help="institution code, e.g. VP (required for agency tokens)")
    create_cmd.add_argument("--label", help="a note on who holds the token")
    revoke_cmd = token_actions.add_parser("revoke", help="revoke a token by id")
    revoke_cmd.add_argument("id")
    token_actions.add_parser("list", help="list tokens (never their secret)")
    export_cmd = commands.add_parser("export-schema", help="write openapi/openapi.json and openapi/schema.graphql")
    export_cmd.add_argument("--out", type=Path, default=ROOT / "openapi")
    args = parser.parse_args()

    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command in {"migrate", "seed", "tokens", "createdb", "deliver"}:
        require_database(
            settings, database=args.command != "createdb", migrated=args.command in {"seed", "tokens", "deliver"}
        )
    if args.command == "serve":
        import uvicorn

        prepare_multiprocess_metrics(args.workers)
        uvicorn.run(
            "service.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=settings.log_level.lower(),
            log_config=None,  # the app logs JSON lines itself, access log included
            access_log=False,
            proxy_headers=True,
            http="service.core.server:GuardedHttpToolsProtocol",
            timeout_keep_alive=settings.server_keepalive_s,
            limit_concurrency=settings.server_limit_concurrency,
            ws_max_size=settings.graphql_max_body_bytes,  # a WebSocket message is bounded as a GraphQL body is
        )
    elif args.command == "deliver":
        from service.webhooks import dispatcher

        dispatcher.run(settings)
    elif args.command == "migrate":
        migrate()
    elif args.command == "seed":
        print("\n".join(asyncio.run(seed(args.data_dir)).lines()))
    elif args.command == "tokens":
        asyncio.run(tokens(args))
    elif args.command == "createdb":
        asyncio.run(createdb())
    elif args.command == "export-schema":
        export_schema(args.out)


if __name__ == "__main__":
    main()
