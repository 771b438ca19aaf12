"""The "Python limit": the least Python can do to answer two of the service's REST reads.

    python bench/python_limit.py --database-url URL --port 8100 [--workers 1]

A raw ASGI app on an asyncpg pool (each connection keeps its statements prepared) with orjson
when installed: `GET /api/v1/organizations?limit=&cursor=` and `GET /api/v1/organizations/{id}`
return the service's JSON (same fields, rows, order and cursor format), without its framework,
ORM, validation or ETag. The benchmark runner compares the two on the same database.
"""

import argparse
import base64
import binascii
import datetime as dt
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

import asyncpg

try:
    import orjson

    def dumps(payload: object) -> bytes:
        return orjson.dumps(payload, option=orjson.OPT_UTC_Z)

    JSON_LIBRARY = "orjson"
except ImportError:  # the reference still runs, only slower

    def _default(value: object) -> str:
        if isinstance(value, dt.datetime):
            return value.isoformat().replace("+00:00", "Z")
        return str(value)

    def dumps(payload: object) -> bytes:
        return json.dumps(payload, default=_default, ensure_ascii=False, separators=(",", ":")).encode()

    JSON_LIBRARY = "json"

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
PREFIX = "/api/v1/organizations"

_ORGANIZATION = """
    SELECT o.id, o.acronym, o.name, o.aliases, o.kind, o.established, o.sources, o.updated_at, o.sort_key,
           p.id AS parent_id, p.acronym AS parent_acronym, p.name AS parent_name
    FROM organization o LEFT JOIN organization p ON p.id = o.parent_id
"""
FIRST_PAGE = _ORGANIZATION + " ORDER BY o.sort_key, o.id LIMIT $1"
NEXT_PAGE = _ORGANIZATION + " WHERE (o.sort_key, o.id) > ($1, $2) ORDER BY o.sort_key, o.id LIMIT $3"
ONE = _ORGANIZATION + " WHERE o.id = $1"
MEMBERSHIPS = """
    SELECT m.id, m.relation, m.since, m.until, m.financial_obligation, m.events, m.note, m.sources, m.updated_at,
           mi.id AS member_id, mi.code AS member_code, mi.country AS member_country,
           ci.id AS coordinator_id, ci.code AS coordinator_code, ci.country AS coordinator_country
    FROM membership m
    JOIN institution mi ON mi.id = m.member_id
    LEFT JOIN institution ci ON ci.id = m.coordinator_id
    WHERE m.organization_id = $1
    ORDER BY m.relation, m.since NULLS LAST, m.id
"""
REFERENCED = "SELECT id, acronym, name FROM organization WHERE id = ANY($1::uuid[])"

LANGUAGES = ("lv", "en", "lt", "original")
PRECISION_BY_LENGTH = {4: "year", 7: "month", 10: "day"}


class BadCursor(ValueError):
    pass


def encode_cursor(key: list) -> str:
    raw = json.dumps(key, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        sort_key, organization_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(sort_key), str(uuid.UUID(organization_id))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as error:
        raise BadCursor(str(error)) from None


def localized(text: dict | None) -> dict | None:
    """Every language key, null where absent, as the service's LocalizedText prints it."""
    return None if text is None else {language: text.get(language) for language in LANGUAGES}


def reference(organization_id, acronym, name) -> dict:
    return {"id": organization_id, "acronym": acronym, "name": localized(name)}


def organization(row: asyncpg.Record) -> dict:
    parent = row["parent_id"] and reference(row["parent_id"], row["parent_acronym"], row["parent_name"])
    return {
        "id": row["id"],
        "acronym": row["acronym"],
        "name": localized(row["name"]),
        "aliases": row["aliases"],
        "kind": row["kind"],
        "parent": parent,
        "established": row["established"],
        "sources": row["sources"],
        "updated_at": row["updated_at"],
    }


def institution(row: asyncpg.Record, role: str) -> dict | None:
    institution_id = row[f"{role}_id"]
    if institution_id is None:
        return None
    return {"id": institution_id, "code": row[f"{role}_code"], "country": row[f"{role}_country"]}


def membership(row: asyncpg.Record, organizations: dict[str, dict]) -> dict:
    events = [
        {
            "date": event["date"],
            "kind": event["kind"],
            "organization": organizations.get(event.get("organization_id")),
            "precision": PRECISION_BY_LENGTH[len(event["date"])],
        }
        for event in row["events"]
    ]
    return {
        "id": row["id"],
        "member": institution(row, "member"),
        "relation": row["relation"],
        "since": row["since"],
        "since_precision": row["since"] and PRECISION_BY_LENGTH[len(row["since"])],
        "until": row["until"],
        "until_precision": row["until"] and PRECISION_BY_LENGTH[len(row["until"])],
        "coordinator": institution(row, "coordinator"),
        "financial_obligation": row["financial_obligation"],
        "events": events,
        "note": localized(row["note"]),
        "sources": row["sources"],
        "updated_at": row["updated_at"],
    }


async def _plain_types(connection: asyncpg.Connection) -> None:
    """jsonb as Python objects; uuids as text, which both JSON libraries print and need not parse."""
    loads = orjson.loads if JSON_LIBRARY == "orjson" else json.loads
    await connection.set_type_codec("jsonb", encoder=json.dumps, decoder=loads, schema="pg_catalog")
    await connection.set_type_codec("uuid", encoder=str, decoder=str, schema="pg_catalog")


class PythonLimit:
    """The ASGI app. `on_connection` lets a caller watch each pooled connection (the runner counts queries)."""

    def __init__(self, dsn: str, pool_size: int = 10, on_connection: Callable | None = None):
        self.dsn = dsn
        self.pool_size = pool_size
        self.on_connection = on_connection
        self.pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        async def init(connection: asyncpg.Connection) -> None:
            await _plain_types(connection)
            if self.on_connection:
                self.on_connection(connection)

        self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.pool_size, init=init)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def page(self, query: dict[str, list[str]]) -> tuple[int, object]:
        try:
            limit = int(query.get("limit", [DEFAULT_LIMIT])[0])
        except ValueError:
            return 422, {"detail": "limit must be an integer"}
        if not 1 <= limit <= MAX_LIMIT:
            return 422, {"detail": f"limit must be between 1 and {MAX_LIMIT}"}
        async with self.pool.acquire() as connection:
            if "cursor" in query:
                try:
                    sort_key, after_id = decode_cursor(query["cursor"][0])
                except BadCursor:
                    return 400, {"detail": "The cursor is not one this service issued; start again without it."}
                rows = await connection.fetch(NEXT_PAGE, sort_key, after_id, limit + 1)
            else:
                rows = await connection.fetch(FIRST_PAGE, limit + 1)
        next_cursor = (
            encode_cursor([rows[limit - 1]["sort_key"], str(rows[limit - 1]["id"])]) if len(rows) > limit else None
        )
        return 200, {"items": [organization(row) for row in rows[:limit]], "next_cursor": next_cursor}

    async def detail(self, raw_id: str) -> tuple[int, object]:
        try:
            organization_id = str(uuid.UUID(raw_id))
        except ValueError:
            return 422, {"detail": "organization_id must be a UUID"}
        async with self.pool.acquire() as connection:
            row = await connection.fetchrow(ONE, organization_id)
            if row is None:
                return 404, {"detail": f"No organization with id or key '{raw_id}'."}
            memberships = await connection.fetch(MEMBERSHIPS, organization_id)
            event_ids = [
                event["organization_id"] for m in memberships for event in m["events"] if "organization_id" in event
            ]
            referenced = await connection.fetch(REFERENCED, event_ids) if event_ids else []
        organizations = {r["id"]: reference(r["id"], r["acronym"], r["name"]) for r in referenced}
        body = organization(row)
        body["memberships"] = [membership(m, organizations) for m in memberships]
        return 200, body

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope["path"]
        if scope["method"] != "GET" or not path.startswith(PREFIX):
            status, body = 404, {"detail": "Not Found"}
        elif path == PREFIX:
            status, body = await self.page(parse_qs(scope["query_string"].decode()))
        else:
            status, body = await self.detail(path[len(PREFIX) + 1 :])
        media_type = b"application/json" if status == 200 else b"application/problem+json"
        payload = dumps(body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", media_type), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.open()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app() -> PythonLimit:
    """The app as uvicorn's worker processes build it, from the environment the command line set."""
    return PythonLimit(os.environ["PYTHON_LIMIT_DSN"], int(os.environ.get("DB_POOL_SIZE", "10")))


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="postgresql(+asyncpg)://… of the benchmark database")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    os.environ["PYTHON_LIMIT_DSN"] = args.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    uvicorn.run(
        "python_limit:create_app",
        factory=True,
        app_dir=str(Path(__file__).parent),
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
